// Calibration samples as ONNX Runtime feeds: int64 or int32 as the inputs are declared, one sample
// trimmed to its real tokens (dynamic axes) or padded to a fixed length, or several samples as one
// right-padded batch (held-out fidelity runs batched, as the runtime does).

import * as ort from "onnxruntime-node"
import type { CalibrationSample } from "../calibration/index.ts"
import { createOrtSession, type ValueInfo } from "../onnx/index.ts"
import { QuantError } from "./quant-error.ts"

const SOURCES: Record<string, keyof Pick<CalibrationSample, "inputIds" | "attentionMask" | "tokenTypeIds">> = {
  input_ids: "inputIds",
  attention_mask: "attentionMask",
  token_type_ids: "tokenTypeIds",
}

export interface SampleFeeds {
  readonly feeds: Record<string, ort.Tensor>
  /** Sequence length fed. */
  readonly seq: number
  /** Real tokens among them. */
  readonly length: number
}

export const sampleFeeds = (inputs: readonly ValueInfo[], sample: CalibrationSample, where: string): SampleFeeds => {
  const fixed = inputs.map((i) => i.dims?.[1]).find((d): d is number => typeof d === "number")
  const seq = fixed ?? sample.length
  if (sample.length > seq)
    throw new QuantError("bad-shape", where, `a calibration sample has ${sample.length} tokens but the model's inputs are fixed at ${seq}; write the calibration set at seqlen ${seq}`)
  const feeds: Record<string, ort.Tensor> = {}
  for (const input of inputs) {
    const source = SOURCES[input.name]
    if (source === undefined)
      throw new QuantError("bad-shape", where, `model input "${input.name}" is not one a calibration set provides (${Object.keys(SOURCES).join(", ")})`)
    const values = new Int32Array(seq)
    values.set(sample[source].subarray(0, Math.min(seq, sample[source].length)))
    // Padding beyond the stored seqlen (a longer static model): pad id for ids, 0 elsewhere.
    if (seq > sample[source].length && source === "inputIds") values.fill(sample.inputIds[sample.length] ?? 0, sample[source].length)
    if (input.dtype === "int64") feeds[input.name] = new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), [1, seq])
    else if (input.dtype === "int32") feeds[input.name] = new ort.Tensor("int32", values, [1, seq])
    else throw new QuantError("bad-shape", where, `model input "${input.name}" is ${input.dtype ?? "untyped"}; expected int64 or int32 token ids`)
  }
  return { feeds, seq, length: sample.length }
}

/**
 * A CPU session on a model file; the caller releases it. `spin: false` stops its threads spinning
 * while they wait for work: sessions that run one after another (layer segments) would otherwise
 * take the cores from each other.
 */
export const openSession = async (path: string, options: { threads?: number; spin?: boolean } = {}): Promise<ort.InferenceSession> => {
  try {
    return await createOrtSession(path, {
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.spin === false ? { configEntries: { "session.intra_op.allow_spinning": "0" } } : {}),
    })
  } catch (cause) {
    throw new QuantError("bad-params", path, `ONNX Runtime could not load the model: ${(cause as Error).message}`)
  }
}

/** Opens a session on a model file, runs `body`, always releases it. */
export const withSession = async <T>(path: string, body: (session: ort.InferenceSession) => Promise<T>, options: { threads?: number } = {}): Promise<T> => {
  const session = await openSession(path, options)
  try {
    return await body(session)
  } finally {
    await session.release()
  }
}

/**
 * Several samples as one [n, longest] batch for a model with dynamic axes: each row is the
 * sample's stored tokens cut at the longest sample's length (the stored rows are already padded
 * with the pad id and mask 0), so a batch looks as the runtime pads it.
 */
export const batchFeeds = (inputs: readonly ValueInfo[], samples: readonly CalibrationSample[], where: string): Record<string, ort.Tensor> => {
  if (samples.length === 0) throw new QuantError("bad-shape", where, "a batch needs at least one sample")
  const seq = samples.reduce((longest, s) => Math.max(longest, s.length), 0)
  const feeds: Record<string, ort.Tensor> = {}
  for (const input of inputs) {
    const source = SOURCES[input.name]
    if (source === undefined)
      throw new QuantError("bad-shape", where, `model input "${input.name}" is not one a calibration set provides (${Object.keys(SOURCES).join(", ")})`)
    const values = new Int32Array(samples.length * seq)
    samples.forEach((sample, row) => {
      const stored = sample[source]
      if (stored.length < seq) throw new QuantError("bad-shape", where, `a stored sample row has ${stored.length} tokens, fewer than the ${seq} of the batch's longest sample`)
      values.set(stored.subarray(0, seq), row * seq)
    })
    if (input.dtype === "int64") feeds[input.name] = new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), [samples.length, seq])
    else if (input.dtype === "int32") feeds[input.name] = new ort.Tensor("int32", values, [samples.length, seq])
    else throw new QuantError("bad-shape", where, `model input "${input.name}" is ${input.dtype ?? "untyped"}; expected int64 or int32 token ids`)
  }
  return feeds
}
