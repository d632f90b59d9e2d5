// Held-out fidelity: how close a quantized model's outputs are to the float model's on held-out
// calibration samples — per-sample cosine for vectors (embeddings); for one score per sample
// (reranker logits) Pearson, Spearman and mean |Δ|. The quantizer's budget and sensitivity search
// are judged on it. Samples run in length-sorted batches like the runtime's (dynamic int8's range
// is per batch).

import { join } from "node:path"
import type * as ort from "onnxruntime-node"
import type { CalibrationSample } from "../calibration/index.ts"
import { embeddingFidelity, MetricError, rerankerFidelity } from "../metrics/index.ts"
import { writeModel, type OnnxModel, type ValueInfo } from "../onnx/index.ts"
import { batchFeeds, sampleFeeds, withSession } from "./ort-feeds.ts"
import { QuantError } from "./quant-error.ts"

/** The output the budget is judged on: the pooled embedding or score when the model has one. */
export const judgedOutput = (model: OnnxModel): string => {
  const names = model.graph.outputs.map((o) => o.name)
  return ["sentence_embedding", "dense_vecs", "logits"].find((n) => names.includes(n)) ?? names[0]!
}

export interface HeldOutFidelity {
  readonly metric: "cosine" | "pearson"
  /** Mean per-sample cosine, or the Pearson correlation of scalar outputs. */
  readonly mean: number
  readonly min: number
  /** Scalar outputs: Spearman rank correlation with the reference scores. */
  readonly spearman?: number
  /** Scalar outputs: mean |quantized − reference| score. */
  readonly meanAbsDiff?: number
  /** Scalar outputs: standard deviation of the reference scores (what |Δ| is small or large against). */
  readonly referenceStd?: number
}

/** Batch size held-out samples run at: the runtime's default batch. */
export const HELD_OUT_BATCH = 32

/** True when the inputs' batch and sequence axes are both dynamic, so samples can run together. */
const batchable = (inputs: readonly ValueInfo[]): boolean => inputs.every((i) => i.dims !== undefined && i.dims.length === 2 && typeof i.dims[0] !== "number" && typeof i.dims[1] !== "number")

/**
 * One output of `model` for each sample, in sample order. With `batch` > 1 and dynamic axes the
 * samples run longest first in batches padded to their longest sample (as the runtime does);
 * otherwise one at a time.
 */
export const runOutput = async (
  model: OnnxModel,
  path: string,
  output: string,
  samples: readonly CalibrationSample[],
  threads?: number,
  batch = HELD_OUT_BATCH,
): Promise<Float32Array[]> => {
  await writeModel(model, path)
  return withSession(path, (session) => runSessionOutput(session, model.graph.inputs, output, samples, batch), threads !== undefined ? { threads } : {})
}

/**
 * The batches held-out samples run in: with `batch` > 1 and dynamic axes, longest first in batches
 * padded to their longest sample (as the runtime does); otherwise one sample at a time. `rows` are
 * the batch's sample indices, in row order.
 */
export const heldOutBatches = (inputs: readonly ValueInfo[], samples: readonly CalibrationSample[], batch = HELD_OUT_BATCH): { readonly rows: readonly number[]; readonly feeds: Record<string, ort.Tensor> }[] => {
  if (batch > 1 && batchable(inputs)) {
    const order = samples.map((_, i) => i).sort((a, b) => samples[b]!.length - samples[a]!.length || a - b)
    const batches: { rows: number[]; feeds: Record<string, ort.Tensor> }[] = []
    for (let start = 0; start < order.length; start += batch) {
      const rows = order.slice(start, start + batch)
      batches.push({ rows, feeds: batchFeeds(inputs, rows.map((r) => samples[r]!), `held-out samples ${rows.join(", ")}`) })
    }
    return batches
  }
  return samples.map((sample, i) => ({ rows: [i], feeds: sampleFeeds(inputs, sample, `held-out sample ${i}`).feeds }))
}

/** Splits one batch's output `data` into a row per sample, stored at `out[rows[j]]`. */
export const scatterRows = (data: ArrayLike<number>, rows: readonly number[], out: Float32Array[]): void => {
  const width = data.length / rows.length
  const copy = (from: number, to: number): Float32Array =>
    data instanceof Float32Array ? data.slice(from, to) : Float32Array.from((data as ArrayLike<number> & { slice(a: number, b: number): ArrayLike<number> }).slice(from, to))
  rows.forEach((r, j) => (out[r] = copy(j * width, (j + 1) * width)))
}

/**
 * `runOutput` on an open session: `inputs` are the token inputs the samples feed, `extra` any
 * other feeds (the same for every batch).
 */
export const runSessionOutput = async (
  session: ort.InferenceSession,
  inputs: readonly ValueInfo[],
  output: string,
  samples: readonly CalibrationSample[],
  batch = HELD_OUT_BATCH,
  extra: Readonly<Record<string, ort.Tensor>> = {},
): Promise<Float32Array[]> => {
  const out: Float32Array[] = new Array(samples.length)
  for (const { rows, feeds } of heldOutBatches(inputs, samples, batch)) scatterRows((await session.run({ ...feeds, ...extra }, [output]))[output]!.data as ArrayLike<number>, rows, out)
  return out
}

/** Held-out fidelity of `test` against `reference` outputs, sample by sample (the math is src/metrics'). */
export const compareOutputs = (reference: readonly Float32Array[], test: readonly Float32Array[]): HeldOutFidelity => {
  if (reference.length !== test.length || reference.length === 0) throw new QuantError("bad-shape", "held-out fidelity", "reference and test outputs must cover the same, non-empty set of samples")
  try {
    if (reference[0]!.length === 1) {
      const f = rerankerFidelity(reference.map((v) => v[0]!), test.map((v) => v[0]!))
      return { metric: "pearson", mean: f.pearson, min: f.pearson, spearman: f.spearman, meanAbsDiff: f.meanAbsDiff, referenceStd: f.referenceStd }
    }
    const f = embeddingFidelity(reference, test)
    return { metric: "cosine", mean: f.mean, min: f.min }
  } catch (cause) {
    // Undefined cases (constant scores, a zero or non-finite output) are refused, not scored NaN.
    if (cause instanceof MetricError) throw new QuantError("bad-shape", "held-out fidelity", `${cause.message} (${reference.length} held-out samples; hold out more, or check the model's outputs)`)
    throw cause
  }
}

/** Runs a candidate model on the samples and compares it with reference outputs. */
export const measureHeldOutFidelity = async (
  model: OnnxModel,
  reference: readonly Float32Array[],
  samples: readonly CalibrationSample[],
  output: string,
  dir: string,
  threads?: number,
  batch = HELD_OUT_BATCH,
): Promise<HeldOutFidelity> => compareOutputs(reference, await runOutput(model, join(dir, "model.onnx"), output, samples, threads, batch))

/**
 * Loads `model` once and hands `body` a measure function: each call runs the held-out samples with
 * the given extra feeds (a switchable model's flags) and compares with the reference. The file and
 * session are gone when `body` settles.
 */
export const withHeldOutSession = async <T>(
  model: OnnxModel,
  extraInputs: readonly string[],
  reference: readonly Float32Array[],
  samples: readonly CalibrationSample[],
  output: string,
  dir: string,
  body: (measure: (extra: Readonly<Record<string, ort.Tensor>>) => Promise<HeldOutFidelity>) => Promise<T>,
  threads?: number,
  batch = HELD_OUT_BATCH,
): Promise<T> => {
  const path = join(dir, "model.onnx")
  await writeModel(model, path)
  const tokens = model.graph.inputs.filter((i) => !extraInputs.includes(i.name))
  return withSession(
    path,
    (session) => body(async (extra) => compareOutputs(reference, await runSessionOutput(session, tokens, output, samples, batch, extra))),
    threads !== undefined ? { threads } : {},
  )
}
