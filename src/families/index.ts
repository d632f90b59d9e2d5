// Public surface of the model families: the ModelFamily seam, the registry and its lookups, and
// the family-generic entry points that are nothing but a lookup (openModel, referenceForward).
export type {
  ExtraWeights,
  FamilyConfig,
  FamilySynth,
  FamilyTask,
  GraphInputs,
  GraphOptions,
  ModelFamily,
  OutlierChannel,
  SynthesizedCheckpoint,
  SynthRecipeOptions,
} from "./family.ts"
export { families, familyNamed, familyNames, openModel, resolveFamily, type ModelCheckpoint, type ResolvedModel } from "./registry.ts"
export { referenceForward } from "./reference-forward.ts"
