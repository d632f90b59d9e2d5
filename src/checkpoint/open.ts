// Opens a Hugging Face model folder: config.json plus whichever weights it ships
// (model.safetensors, a sharded safetensors index, pytorch_model.bin or its sharded index),
// and extra heads saved as *.pt state dicts (bge-m3's sparse_linear.pt, colbert_linear.pt).
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import type { LazyTensor } from "../tensor/index.ts"
import { readEncoderConfig } from "./config.ts"
import type { EncoderConfig } from "./encoder-config.ts"
import { CheckpointError } from "./errors.ts"
import { readSafetensors } from "./safetensors.ts"
import { readShardedIndex, type TensorCollection } from "./sharded-index.ts"
import { readTorchStateDict } from "./torch.ts"

export type WeightsFormat = "safetensors" | "safetensors-sharded" | "pytorch" | "pytorch-sharded"

export interface Checkpoint {
  readonly dir: string
  readonly config: EncoderConfig
  /** The file the weights were read from (or the index of a sharded checkpoint). */
  readonly weightsFile: string
  readonly format: WeightsFormat
  /** Tensor names exactly as stored (e.g. "embeddings.word_embeddings.weight", or "roberta.…" in rerankers). */
  readonly tensors: ReadonlyMap<string, LazyTensor>
  /** Extra heads by file stem: "sparse_linear" → {weight, bias} from sparse_linear.pt. */
  readonly extras: ReadonlyMap<string, ReadonlyMap<string, LazyTensor>>
  /** Closes every file; tensors cannot be read afterwards. */
  close(): void
}

/** Weight files in order of preference (safetensors first: it cannot carry code). */
const weightCandidates: readonly { readonly file: string; readonly format: WeightsFormat; readonly open: (path: string) => TensorCollection }[] = [
  { file: "model.safetensors", format: "safetensors", open: readSafetensors },
  { file: "model.safetensors.index.json", format: "safetensors-sharded", open: (path) => readShardedIndex(path, readSafetensors) },
  { file: "pytorch_model.bin", format: "pytorch", open: readTorchStateDict },
  { file: "pytorch_model.bin.index.json", format: "pytorch-sharded", open: (path) => readShardedIndex(path, readTorchStateDict) },
]

export const openCheckpoint = (dir: string): Checkpoint => {
  const config = readEncoderConfig(dir)
  const candidate = weightCandidates.find(({ file }) => existsSync(join(dir, file)))
  if (candidate === undefined) {
    throw new CheckpointError(
      "NotFound",
      dir,
      `no weights found: expected one of ${weightCandidates.map(({ file }) => file).join(", ")} in this folder`,
    )
  }
  const weightsFile = join(dir, candidate.file)
  const opened: TensorCollection[] = []
  const closeAll = (): void => {
    for (const collection of opened) collection.close()
  }
  try {
    const weights = candidate.open(weightsFile)
    opened.push(weights)
    const extras = new Map<string, ReadonlyMap<string, LazyTensor>>()
    const extraFiles = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".pt"))
      .map((entry) => entry.name)
      .sort()
    for (const file of extraFiles) {
      const extra = readTorchStateDict(join(dir, file))
      opened.push(extra)
      extras.set(file.slice(0, -".pt".length), extra.tensors)
    }
    return { dir, config, weightsFile, format: candidate.format, tensors: weights.tensors, extras, close: closeAll }
  } catch (error) {
    closeAll()
    throw error
  }
}
