// How close a quantized model's outputs are to the float model's on the same samples: per-sample
// cosine for vectors (embeddings); for one score per sample (reranker logits) Pearson, Spearman and
// mean |Δ|. Samples run in length-sorted batches like the runtime's (dynamic int8's range is per batch).

import { join } from "node:path"
import type * as ort from "onnxruntime-node"
import type { CalibrationSample } from "../calibration/index.ts"
import { writeModel, type OnnxModel, type ValueInfo } from "../onnx/index.ts"
import { batchFeeds, sampleFeeds, withSession } from "./ort-feeds.ts"
import { QuantError } from "./quant-error.ts"

/** The output the budget is judged on: the pooled embedding or score when the model has one. */
export const fidelityOutput = (model: OnnxModel): string => {
  const names = model.graph.outputs.map((o) => o.name)
  return ["sentence_embedding", "dense_vecs", "logits"].find((n) => names.includes(n)) ?? names[0]!
}

export interface Fidelity {
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
  const copy = (data: unknown, from: number, to: number): Float32Array =>
    data instanceof Float32Array ? data.slice(from, to) : Float32Array.from((data as ArrayLike<number> & { slice(a: number, b: number): ArrayLike<number> }).slice(from, to))
  const out: Float32Array[] = new Array(samples.length)
  if (batch > 1 && batchable(inputs)) {
    const order = samples.map((_, i) => i).sort((a, b) => samples[b]!.length - samples[a]!.length || a - b)
    for (let start = 0; start < order.length; start += batch) {
      const rows = order.slice(start, start + batch)
      const feeds = batchFeeds(inputs, rows.map((r) => samples[r]!), `held-out samples ${rows.join(", ")}`)
      const data = (await session.run({ ...feeds, ...extra }, [output]))[output]!.data as ArrayLike<number>
      const width = data.length / rows.length
      rows.forEach((r, j) => (out[r] = copy(data, j * width, (j + 1) * width)))
    }
    return out
  }
  for (const [i, sample] of samples.entries()) {
    const { feeds } = sampleFeeds(inputs, sample, `held-out sample ${i}`)
    const data = (await session.run({ ...feeds, ...extra }, [output]))[output]!.data as ArrayLike<number>
    out[i] = copy(data, 0, data.length)
  }
  return out
}

/** Ranks (1-based, ties averaged). */
const ranks = (values: readonly number[]): number[] => {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!)
  const out = new Array<number>(values.length)
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++
    for (let k = i; k <= j; k++) out[order[k]!] = (i + j) / 2 + 1
    i = j + 1
  }
  return out
}

const pearson = (a: readonly number[], b: readonly number[]): number => {
  const ma = a.reduce((s, v) => s + v, 0) / a.length
  const mb = b.reduce((s, v) => s + v, 0) / b.length
  return cosine(a.map((v) => v - ma), b.map((v) => v - mb))
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    aa += a[i]! * a[i]!
    bb += b[i]! * b[i]!
  }
  return aa === 0 && bb === 0 ? 1 : dot / Math.sqrt(aa * bb)
}

export const compareOutputs = (reference: readonly Float32Array[], test: readonly Float32Array[]): Fidelity => {
  if (reference.length !== test.length || reference.length === 0) throw new QuantError("bad-shape", "fidelity", "reference and test outputs must cover the same, non-empty set of samples")
  if (reference[0]!.length === 1) {
    const ref = reference.map((v) => v[0]!)
    const got = test.map((v) => v[0]!)
    const r = pearson(ref, got)
    const refMean = ref.reduce((s, v) => s + v, 0) / ref.length
    return {
      metric: "pearson",
      mean: r,
      min: r,
      spearman: pearson(ranks(ref), ranks(got)),
      meanAbsDiff: ref.reduce((s, v, i) => s + Math.abs(v - got[i]!), 0) / ref.length,
      referenceStd: Math.sqrt(ref.reduce((s, v) => s + (v - refMean) ** 2, 0) / ref.length),
    }
  }
  const values = reference.map((r, i) => cosine(r, test[i]!))
  // A loop, not Math.min(...values): spreading a million samples into a call overflows the stack.
  return { metric: "cosine", mean: values.reduce((a, b) => a + b, 0) / values.length, min: values.reduce((a, b) => Math.min(a, b), Infinity) }
}

/** Runs a candidate model on the samples and compares it with reference outputs. */
export const measureFidelity = async (
  model: OnnxModel,
  reference: readonly Float32Array[],
  samples: readonly CalibrationSample[],
  output: string,
  dir: string,
  threads?: number,
  batch = HELD_OUT_BATCH,
): Promise<Fidelity> => compareOutputs(reference, await runOutput(model, join(dir, "model.onnx"), output, samples, threads, batch))

/**
 * Loads `model` once and hands `body` a measure function: each call runs the held-out samples with
 * the given extra feeds (a switchable model's flags) and compares with the reference. The file and
 * session are gone when `body` settles.
 */
export const withFidelitySession = async <T>(
  model: OnnxModel,
  extraInputs: readonly string[],
  reference: readonly Float32Array[],
  samples: readonly CalibrationSample[],
  output: string,
  dir: string,
  body: (measure: (extra: Readonly<Record<string, ort.Tensor>>) => Promise<Fidelity>) => Promise<T>,
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
