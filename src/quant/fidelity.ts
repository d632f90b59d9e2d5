// How close a quantized model's outputs are to the float model's on the same samples: per-sample
// cosine for vector outputs (embeddings), Pearson correlation across samples for one score per
// sample (reranker logits), where a per-sample cosine would only compare signs.

import { join } from "node:path"
import type { CalibrationSample } from "../calibration/index.ts"
import { writeModel, type OnnxModel } from "../onnx/index.ts"
import { sampleFeeds, withSession } from "./ort-feeds.ts"
import { QuantError } from "./quant-error.ts"

/** The output the budget is judged on: the pooled embedding or score when the model has one. */
export const fidelityOutput = (model: OnnxModel): string => {
  const names = model.graph.outputs.map((o) => o.name)
  return ["sentence_embedding", "dense_vecs", "logits"].find((n) => names.includes(n)) ?? names[0]!
}

export interface Fidelity {
  readonly metric: "cosine" | "pearson"
  readonly mean: number
  readonly min: number
}

/** One output of `model` for each sample (batch 1). */
export const runOutput = async (
  model: OnnxModel,
  path: string,
  output: string,
  samples: readonly CalibrationSample[],
  threads?: number,
): Promise<Float32Array[]> => {
  await writeModel(model, path)
  return withSession(
    path,
    async (session) => {
      const out: Float32Array[] = []
      for (const [i, sample] of samples.entries()) {
        const { feeds } = sampleFeeds(model.graph.inputs, sample, `held-out sample ${i}`)
        const result = (await session.run(feeds, [output]))[output]!
        const data = result.data
        out.push(data instanceof Float32Array ? data.slice() : Float32Array.from(data as ArrayLike<number>))
      }
      return out
    },
    threads !== undefined ? { threads } : {},
  )
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
    const mean = (x: readonly Float32Array[]) => x.reduce((s, v) => s + v[0]!, 0) / x.length
    const [ra, ta] = [mean(reference), mean(test)]
    const r = cosine(reference.map((v) => v[0]! - ra), test.map((v) => v[0]! - ta))
    return { metric: "pearson", mean: r, min: r }
  }
  const values = reference.map((r, i) => cosine(r, test[i]!))
  return { metric: "cosine", mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values) }
}

/** Runs a candidate model on the samples and compares it with reference outputs. */
export const measureFidelity = async (
  model: OnnxModel,
  reference: readonly Float32Array[],
  samples: readonly CalibrationSample[],
  output: string,
  dir: string,
  threads?: number,
): Promise<Fidelity> => compareOutputs(reference, await runOutput(model, join(dir, "model.onnx"), output, samples, threads))
