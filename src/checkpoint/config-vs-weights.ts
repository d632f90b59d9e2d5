// Checks config.json's size fields against the weights before anything is built from them, so an
// absurd value (num_hidden_layers 1,000,000, a hidden_size the embedding table does not have) is
// reported as that config field, not as a missing or misshapen tensor deep inside the model.
// Only naming that every encoder family shares is used: `layer.N.` / `layers.N.` for the layers, and
// the token / position embedding tables; a checkpoint without them is left to the family's own checks.
import type { LazyTensor } from "../tensor/index.ts"
import { CheckpointError } from "./errors.ts"

const layerIndex = /(?:^|\.)layers?\.(\d+)\./
const tokenTable = /(?:^|\.)(?:word_embeddings|embed_tokens)\.weight$/
const positionTable = /(?:^|\.)position_embeddings\.weight$/

const findTable = (tensors: ReadonlyMap<string, LazyTensor>, pattern: RegExp): LazyTensor | undefined => {
  for (const tensor of tensors.values()) if (pattern.test(tensor.name) && tensor.shape.length === 2) return tensor
  return undefined
}

/** The config.json sizes the check reads (a family's parsed config has them). */
export interface ConfigSizes {
  readonly numLayers: number
  readonly hiddenSize: number
  readonly vocabSize: number
  /** Rows of a learned position table, for families that have one. */
  readonly maxPositions?: number
}

/** Throws CheckpointError("InvalidConfig") naming `configFile` and the field whose value the weights contradict. */
export const checkConfigAgainstWeights = (config: ConfigSizes, tensors: ReadonlyMap<string, LazyTensor>, configFile: string): void => {
  const fail = (field: string, message: string): never => {
    throw new CheckpointError("InvalidConfig", configFile, `field "${field}" is ${message}; fix config.json or use the matching weights`, { field })
  }
  let layers = 0
  let example = ""
  for (const name of tensors.keys()) {
    const match = layerIndex.exec(name)
    if (match === null) continue
    const index = Number(match[1])
    if (index + 1 > layers) {
      layers = index + 1
      example = name
    }
  }
  if (layers > 0 && config.numLayers > layers) {
    fail("num_hidden_layers", `${config.numLayers} but the weights hold ${layers} layers (the last is ${JSON.stringify(example)})`)
  }
  const tokens = findTable(tensors, tokenTable)
  if (tokens !== undefined) {
    const [rows, width] = tokens.shape as [number, number]
    const shape = `[${rows}, ${width}]`
    if (width !== config.hiddenSize) fail("hidden_size", `${config.hiddenSize} but the token embedding table ${JSON.stringify(tokens.name)} has shape ${shape}`)
    if (rows !== config.vocabSize) fail("vocab_size", `${config.vocabSize} but the token embedding table ${JSON.stringify(tokens.name)} has ${rows} rows`)
  }
  const positions = findTable(tensors, positionTable)
  if (positions !== undefined && config.maxPositions !== undefined && positions.shape[0] !== config.maxPositions) {
    fail("max_position_embeddings", `${config.maxPositions} but the position table ${JSON.stringify(positions.name)} has ${positions.shape[0]} rows`)
  }
}
