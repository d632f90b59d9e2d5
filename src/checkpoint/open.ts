// Opens a Hugging Face model folder: config.json plus whichever weights it ships
// (model.safetensors, a sharded safetensors index, pytorch_model.bin or its sharded index),
// and extra heads saved beside them as *.pt state dicts or *.safetensors (bge-m3's sparse_linear.pt, colbert_linear.pt).
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import type { LazyTensor } from "../tensor/index.ts"
import { readConfigJson } from "./config.ts"
import { CheckpointError } from "./errors.ts"
import { readSafetensors } from "./safetensors.ts"
import { readShardedIndex, type TensorCollection } from "./sharded-index.ts"
import { readTorchStateDict } from "./torch.ts"

export type WeightsFormat = "safetensors" | "safetensors-sharded" | "pytorch" | "pytorch-sharded"

export interface Checkpoint {
  readonly dir: string
  /** config.json as read (a JSON object); its model family parses it (src/families). */
  readonly configJson: Readonly<Record<string, unknown>>
  /** The file the weights were read from (or the index of a sharded checkpoint). */
  readonly weightsFile: string
  readonly format: WeightsFormat
  /** Tensor names exactly as stored (e.g. "embeddings.word_embeddings.weight", or "roberta.…" in rerankers). */
  readonly tensors: ReadonlyMap<string, LazyTensor>
  /** Extra heads by file stem: "sparse_linear" → {weight, bias} from sparse_linear.pt or sparse_linear.safetensors. */
  readonly extras: ReadonlyMap<string, ReadonlyMap<string, LazyTensor>>
  /** The file each extra head was read from, by stem ("sparse_linear" → "sparse_linear.safetensors"). */
  readonly extraFiles: ReadonlyMap<string, string>
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

/** The main weights and their shards (model-00001-of-00002.safetensors …) are not heads. */
const isMainWeights = (file: string): boolean => /^(model|pytorch_model)([.-]|$)/.test(file)

/**
 * Extra heads beside the weights by stem: `<stem>.safetensors` or `<stem>.pt` (bge-m3 ships
 * sparse_linear.pt, colbert_linear.pt; converted copies are .safetensors). When a stem has both,
 * the safetensors file is read: it cannot carry code.
 */
const headFiles = (dir: string): Map<string, string> => {
  const heads = new Map<string, string>()
  const files = readdirSync(dir, { withFileTypes: true })
    // A Hugging Face cache snapshot holds symlinks into its blobs/ folder: follow those to files.
    .filter((entry) => (entry.isFile() || (entry.isSymbolicLink() && statSync(join(dir, entry.name)).isFile())) && !isMainWeights(entry.name))
    .map((entry) => entry.name)
    .sort()
  for (const extension of [".safetensors", ".pt"]) {
    for (const file of files) {
      const stem = file.slice(0, -extension.length)
      if (file.endsWith(extension) && stem !== "" && !heads.has(stem)) heads.set(stem, file)
    }
  }
  return new Map([...heads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

export const openCheckpoint = (dir: string): Checkpoint => {
  const { json: configJson } = readConfigJson(dir)
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
    const extraFiles = headFiles(dir)
    for (const [stem, file] of extraFiles) {
      const extra = file.endsWith(".safetensors") ? readSafetensors(join(dir, file)) : readTorchStateDict(join(dir, file))
      opened.push(extra)
      extras.set(stem, extra.tensors)
    }
    return { dir, configJson, weightsFile, format: candidate.format, tensors: weights.tensors, extras, extraFiles, close: closeAll }
  } catch (error) {
    closeAll()
    throw error
  }
}
