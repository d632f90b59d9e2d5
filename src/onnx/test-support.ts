// Fixtures shared by this folder's tests: a seeded float generator, scratch directories, and the
// small MatMul → Add → Relu model the writer, reader and optimizer tests use.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { GraphBuilder } from "./builder.ts"
import type { OnnxModel } from "./model.ts"
import type { TensorInput } from "./tensor-data.ts"

/** Deterministic floats in [-1, 1) from a 32-bit seed (mulberry32). */
export const seededFloats = (seed: number, count: number): Float32Array => {
  let s = seed >>> 0
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1
  }
  return out
}

/** A fresh temp directory and its cleanup. */
export const scratchDir = (label: string): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), `kiln-onnx-${label}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface MlpFixture {
  readonly model: OnnxModel
  readonly weight: Float32Array
  readonly bias: Float32Array
  readonly inFeatures: number
  readonly outFeatures: number
}

/** y = relu(x · W + b) with seeded W [in, out] and b [out]; data may be given as thunks. */
export const buildMlp = (
  options: { inFeatures?: number; outFeatures?: number; seed?: number; wrap?: (name: string, data: Float32Array) => TensorInput } = {},
): MlpFixture => {
  const inFeatures = options.inFeatures ?? 8
  const outFeatures = options.outFeatures ?? 4
  const weight = seededFloats(options.seed ?? 1, inFeatures * outFeatures)
  const bias = seededFloats((options.seed ?? 1) + 1, outFeatures)
  const wrap = options.wrap ?? ((_: string, d: Float32Array) => d)
  const g = new GraphBuilder({ name: "mlp", opset: 17 })
  const x = g.input("x", "float32", ["batch", inFeatures])
  const w = g.initializer("w", "float32", [inFeatures, outFeatures], wrap("w", weight))
  const b = g.initializer("b", "float32", [outFeatures], wrap("b", bias))
  const y = g.op("Relu", [g.op("Add", [g.op("MatMul", [x, w]), b])], { output: "y" })
  g.output(y, "float32", ["batch", outFeatures])
  return { model: g.build(), weight, bias, inFeatures, outFeatures }
}

/** relu(x · W + b) computed by hand in float64. */
export const mlpByHand = (f: MlpFixture, x: Float32Array, rows: number): Float64Array => {
  const y = new Float64Array(rows * f.outFeatures)
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < f.outFeatures; o++) {
      let acc = f.bias[o]!
      for (let i = 0; i < f.inFeatures; i++) acc += x[r * f.inFeatures + i]! * f.weight[i * f.outFeatures + o]!
      y[r * f.outFeatures + o] = Math.max(0, acc)
    }
  return y
}
