// Fixtures for the exporter's tests: seeded tiny synthetic checkpoints, padded token batches,
// ONNX Runtime runs of an exported folder and comparisons against the float64 reference.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { createOrtSession } from "../onnx/index.ts"
import { readSafetensors, writeSafetensors, type TensorSource } from "../checkpoint/index.ts"
import { type ModelCheckpoint, openModel, referenceForward } from "../families/index.ts"
import type { ReferenceOutputs, ReferenceTask } from "../reference/index.ts"
import { synthesizeCheckpoint } from "../synth/index.ts"

export const scratch = (label: string): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), `kiln-export-${label}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export const tinyCheckpoint = async (dir: string, arch: string, task: ReferenceTask, seed = 11): Promise<string> => {
  const out = join(dir, `ckpt-${arch}-${task}-${seed}`)
  await synthesizeCheckpoint({ arch, size: "tiny", task, seed, out })
  return out
}

export interface TokenBatch {
  readonly inputIds: number[][]
  readonly attentionMask: number[][]
  readonly tokenTypeIds: number[][]
}

/**
 * Three rows padded to `length`: full, half, and a short one; BERT rows are sentence pairs
 * (token types 0 then 1). Ids are seeded and avoid the special ids.
 */
export const paddedBatch = (checkpoint: ModelCheckpoint, length: number, seed = 5): TokenBatch => {
  const config = checkpoint.config
  const bert = checkpoint.family.name === "bert"
  const [cls, sep, pad] = bert ? [101, 102, 0] : [0, 2, config.raw.pad_token_id as number]
  let state = seed >>> 0 || 1
  const nextId = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return 110 + (state % (config.vocabSize - 110))
  }
  const realLengths = [length, Math.max(3, Math.floor(length / 2)), 3]
  const inputIds: number[][] = []
  const attentionMask: number[][] = []
  const tokenTypeIds: number[][] = []
  for (const real of realLengths) {
    const ids = [cls, ...Array.from({ length: real - 2 }, nextId), sep]
    const types = ids.map((_, i) => (bert && i >= Math.ceil(real / 2) ? 1 : 0))
    inputIds.push([...ids, ...Array(length - real).fill(pad)])
    attentionMask.push([...Array(real).fill(1), ...Array(length - real).fill(0)])
    tokenTypeIds.push([...types, ...Array(length - real).fill(0)])
  }
  return { inputIds, attentionMask, tokenTypeIds }
}

/** Runs `modelPath` on a batch with the input names and integer type the session declares. */
export const runOnnx = async (modelPath: string, batch: TokenBatch, idType: "int64" | "int32" = "int64"): Promise<Record<string, ort.Tensor>> => {
  const session = await createOrtSession(modelPath, { threads: 1 })
  try {
    const dims = [batch.inputIds.length, batch.inputIds[0]!.length]
    const tensor = (rows: number[][]) =>
      idType === "int64"
        ? new ort.Tensor("int64", BigInt64Array.from(rows.flat().map((v) => BigInt(v))), dims)
        : new ort.Tensor("int32", Int32Array.from(rows.flat()), dims)
    const feeds: Record<string, ort.Tensor> = { input_ids: tensor(batch.inputIds), attention_mask: tensor(batch.attentionMask) }
    if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = tensor(batch.tokenTypeIds)
    return await session.run(feeds)
  } finally {
    await session.release()
  }
}

export const reference = (checkpoint: ModelCheckpoint, batch: TokenBatch, task: ReferenceTask, withTypes = true): ReferenceOutputs =>
  referenceForward(
    checkpoint.config,
    checkpoint.tensors,
    { sparseLinear: checkpoint.extras.get("sparse_linear"), colbertLinear: checkpoint.extras.get("colbert_linear") },
    { inputIds: batch.inputIds, attentionMask: batch.attentionMask, ...(withTypes ? { tokenTypeIds: batch.tokenTypeIds } : {}) },
    task,
  )

export const floats = (tensor: ort.Tensor | undefined): Float32Array => {
  if (tensor === undefined) throw new Error("output missing")
  return tensor.data as Float32Array
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY
  let max = 0
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!))
  return max
}

/** Rewrites a checkpoint's model.safetensors with tensors renamed, reshaped or dropped. */
export const rewriteSafetensors = (dir: string, edit: (name: string, shape: readonly number[]) => { name: string; shape?: readonly number[] } | null): void => {
  const path = join(dir, "model.safetensors")
  const file = readSafetensors(path)
  const sources: TensorSource[] = []
  for (const [name, tensor] of file.tensors) {
    const change = edit(name, tensor.shape)
    if (change === null) continue
    const shape = change.shape ?? tensor.shape
    const data = tensor.readFloat32()
    const size = shape.reduce((a, b) => a * b, 1)
    sources.push({ name: change.name, dtype: "float32", shape, values: () => (size === data.length ? data : new Float32Array(size)) })
  }
  file.close()
  writeSafetensors(path, sources)
}

export const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"))

/** The checkpoint in `dir` with its family and parsed config. */
export const openCheckpoint = openModel
