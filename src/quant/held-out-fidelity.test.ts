// Held-out fidelity: scalar outputs get Pearson, Spearman (ties averaged), mean |Δ| and the reference
// spread; batched runs (length-sorted, right-padded) give each sample the output a batch-1 run gives.

import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCalibrationSet, writeCalibrationSet } from "../calibration/index.ts"
import { compareOutputs, runOutput } from "./held-out-fidelity.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-fidelity-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const scalars = (values: readonly number[]) => values.map((v) => Float32Array.of(v))

test("scalar outputs: Spearman, mean |Δ| and the reference std beside Pearson", () => {
  const f = compareOutputs(scalars([1, 2, 3, 4]), scalars([1.5, 1.4, 3.2, 4.1]))
  expect(f.metric).toBe("pearson")
  // Ranks 2,1,3,4 against 1,2,3,4: 1 − 6·Σd²/(n(n²−1)) = 1 − 12/60.
  expect(f.spearman).toBeCloseTo(0.8, 10)
  expect(f.meanAbsDiff).toBeCloseTo((0.5 + 0.6 + 0.2 + 0.1) / 4, 6)
  expect(f.referenceStd).toBeCloseTo(Math.sqrt(1.25), 10)
  expect(f.mean).toBe(f.min)
  // Ties share their average rank: equal scores in both series correlate perfectly.
  expect(compareOutputs(scalars([1, 1, 2]), scalars([5, 5, 9])).spearman).toBeCloseTo(1, 10)
})

test("undefined held-out fidelity (constant scores, a zero embedding) is refused, not scored NaN", () => {
  expect(() => compareOutputs(scalars([1, 2, 3]), scalars([4, 4, 4]))).toThrow(/held-out fidelity: spearman: y is constant .*3 held-out samples/)
  expect(() => compareOutputs([Float32Array.of(1, 0), Float32Array.of(0, 0)], [Float32Array.of(1, 0), Float32Array.of(1, 1)])).toThrow(/held-out fidelity: cosine: row 1: first vector is all zeros/)
})

test("vector outputs are judged by cosine only", () => {
  const f = compareOutputs([Float32Array.of(1, 0), Float32Array.of(0, 1)], [Float32Array.of(1, 0), Float32Array.of(1, 1)])
  expect(Object.keys(f).sort()).toEqual(["mean", "metric", "min"])
  expect(f.metric).toBe("cosine")
  expect(f.mean).toBeCloseTo((1 + Math.SQRT1_2) / 2, 6)
  expect(f.min).toBeCloseTo(Math.SQRT1_2, 6)
})

test("batched held-out runs return every sample's own output, in sample order", async () => {
  const encoder = buildTestEncoder({ layers: 1, seed: 11 })
  const dir = join(root, "calibration")
  writeCalibrationSet(testTokenRows(7, encoder.vocab, 9), dir, { seqlen: 16, padId: 0 })
  const samples = readCalibrationSet(dir).samples
  expect(new Set(samples.map((s) => s.length)).size).toBeGreaterThan(2)
  const one = await runOutput(encoder.model, join(root, "b1", "model.onnx"), "sentence_embedding", samples, 1, 1)
  const batched = await runOutput(encoder.model, join(root, "b3", "model.onnx"), "sentence_embedding", samples, 1, 3)
  expect(batched).toHaveLength(samples.length)
  for (const [i, row] of batched.entries()) for (let j = 0; j < row.length; j++) expect(row[j]!).toBeCloseTo(one[i]![j]!, 5)
})

test("compareOutputs over a million samples does not overflow the stack (no Math.min(...values))", () => {
  const n = 1_000_000
  const one = Float32Array.of(1, 0)
  const reference = Array.from({ length: n }, () => one)
  const test_ = Array.from({ length: n }, (_, i) => (i === 123_456 ? Float32Array.of(0, 1) : one))
  const result = compareOutputs(reference, test_)
  expect(result.metric).toBe("cosine")
  expect(result.min).toBe(0)
  expect(result.mean).toBeCloseTo(1 - 1 / n, 9)
}, 30_000)
