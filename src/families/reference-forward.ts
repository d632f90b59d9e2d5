// referenceForward: the float64 reference of whichever family a parsed config belongs to — what
// tests check exported graphs against (each family's forward lives in its folder).
import type { ReferenceBatch, ReferenceExtras, ReferenceOptions, ReferenceOutputs } from "../reference/index.ts"
import type { LazyTensor } from "../tensor/index.ts"
import type { FamilyConfig, FamilyTask } from "./family.ts"
import { familyNamed } from "./registry.ts"

export const referenceForward = (
  config: FamilyConfig,
  weights: ReadonlyMap<string, LazyTensor>,
  extras: ReferenceExtras,
  batch: ReferenceBatch,
  task: FamilyTask,
  options: ReferenceOptions = {},
): ReferenceOutputs => {
  const family = familyNamed(config.family)
  if (family === undefined) throw new Error(`internal error: config of unregistered family "${config.family}"`)
  return family.reference(config, weights, extras, batch, task, options)
}
