// A checkpoint folder must be the model its preset describes: config.json's architecture and
// dimensions are compared with the preset's, and the first difference is named (field, found,
// expected) before any step reads the weights.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import type { ModelPreset, PresetShape } from "./models.ts"

export class PresetMismatchError extends Error {
  override readonly name = "PresetMismatchError"
}

const ConfigFields = z.object({
  model_type: z.string(),
  hidden_size: z.number(),
  num_hidden_layers: z.number(),
  num_attention_heads: z.number(),
  intermediate_size: z.number(),
  vocab_size: z.number(),
  max_position_embeddings: z.number(),
})

const fields: readonly [keyof z.infer<typeof ConfigFields>, keyof PresetShape][] = [
  ["model_type", "modelType"],
  ["hidden_size", "hiddenSize"],
  ["num_hidden_layers", "numLayers"],
  ["num_attention_heads", "numHeads"],
  ["intermediate_size", "intermediateSize"],
  ["vocab_size", "vocabSize"],
  ["max_position_embeddings", "maxPositions"],
]

export const checkConfigAgainstPreset = (preset: ModelPreset, dir: string): void => {
  const file = join(dir, "config.json")
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw new PresetMismatchError(`${file}: cannot read it as JSON (${(e as Error).message}); expected the config.json of ${preset.repo}`)
  }
  const parsed = ConfigFields.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new PresetMismatchError(`${file}: field ${issue.path.join(".")}: ${issue.message}; expected the config.json of ${preset.repo}`)
  }
  for (const [field, key] of fields) {
    if (parsed.data[field] !== preset.shape[key]) {
      throw new PresetMismatchError(`${file}: ${field} is ${JSON.stringify(parsed.data[field])}, but ${preset.repo} has ${JSON.stringify(preset.shape[key])}; this folder holds a different model (use the pipeline of that model, or the right --model-dir)`)
    }
  }
}
