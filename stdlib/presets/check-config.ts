// A checkpoint folder must be the model its preset describes. config.json is resolved to its
// family through the families registry (src/families) and parsed by that family — so a field the
// family cannot read is named by the family's own check — and the parsed family and dimensions are
// then compared with the preset's; the first difference is named (field, found, expected) before
// any step reads the weights.
import { CheckpointError, readConfigJson } from "../../src/checkpoint/index.ts"
import { type FamilyConfig, resolveFamily } from "../../src/families/index.ts"
import type { ModelPreset, PresetShape } from "./models.ts"

export class PresetMismatchError extends Error {
  override readonly name = "PresetMismatchError"
}

type Dimension = Exclude<keyof PresetShape, "family">

/** Each compared dimension: its parsed config value and the config.json field users know it by. */
const dimensions: readonly [Dimension, (config: FamilyConfig) => number | undefined, string][] = [
  ["hiddenSize", (c) => c.hiddenSize, "hidden_size"],
  ["numLayers", (c) => c.numLayers, "num_hidden_layers"],
  ["numHeads", (c) => c.numHeads, "num_attention_heads"],
  ["intermediateSize", (c) => c.intermediateSize, "intermediate_size"],
  ["vocabSize", (c) => c.vocabSize, "vocab_size"],
  ["maxPositions", (c) => c.maxPositions, "max_position_embeddings"],
]

const different = (preset: ModelPreset, file: string, what: string): PresetMismatchError =>
  new PresetMismatchError(`${file}: ${what}; this folder holds a different model (use the pipeline of that model, or the right --model-dir)`)

export const checkConfigAgainstPreset = (preset: ModelPreset, dir: string): void => {
  let read: ReturnType<typeof readConfigJson>
  let resolved: ReturnType<typeof resolveFamily>
  try {
    read = readConfigJson(dir)
    resolved = resolveFamily(read.json, read.file)
  } catch (error) {
    if (error instanceof CheckpointError) throw new PresetMismatchError(`${error.message}; expected the config.json of ${preset.repo}`, { cause: error })
    throw error
  }
  const file = read.file
  if (resolved.family.name !== preset.shape.family) {
    const modelType = read.json.model_type
    const found = modelType !== undefined ? `model_type is ${JSON.stringify(modelType)}` : `architectures name a ${resolved.family.name} model`
    throw different(preset, file, `${found}, but ${preset.repo} is a ${JSON.stringify(preset.shape.family)} model`)
  }
  for (const [key, valueOf, field] of dimensions) {
    const found = valueOf(resolved.config)
    if (found !== preset.shape[key]) throw different(preset, file, `${field} is ${JSON.stringify(found ?? null)}, but ${preset.repo} has ${JSON.stringify(preset.shape[key])}`)
  }
}
