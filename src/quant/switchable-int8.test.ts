// The switchable search model: for any configuration of groups kept in float, its outputs equal the
// model Int8Planner.build makes for that configuration (dynamic "onnx" and "contrib", static QDQ;
// fused Attention → QAttention and separate Q/K/V MatMuls with folded biases; int8 embeddings; fixed
// input shapes; a user exclusion that never switches), and the search picks the same groups with it as by rebuilding.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { readCalibrationSet, writeCalibrationSet, type CalibrationSample } from "../calibration/index.ts"
import { writeModel, type OnnxModel } from "../onnx/index.ts"
import { ActivationCalibrator, calibratedRange } from "./calibration.ts"
import { collectActivations } from "./collect-activations.ts"
import type { Exclusions } from "./exclude.ts"
import { runOutput, runSessionOutput } from "./held-out-fidelity.ts"
import { Int8Planner } from "./int8-planner.ts"
import type { ActivationMode } from "./int8-rewrite.ts"
import { groupTargets } from "./matmul-groups.ts"
import { withSession } from "./ort-feeds.ts"
import { paramsForRange, type QuantParams } from "./params.ts"
import { searchExclusions } from "./sensitivity.ts"
import { SWITCH_INPUT, switchFlags } from "./switchable-int8.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-switchable-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const OUTPUTS = ["sentence_embedding", "last_hidden_state"]
let samples: CalibrationSample[]

beforeAll(() => {
  const encoder = buildTestEncoder({ layers: 1 })
  writeCalibrationSet(testTokenRows(16, encoder.vocab, 3), join(root, "calibration"), { seqlen: 16, padId: 0 })
  samples = [...readCalibrationSet(join(root, "calibration")).samples]
})

const staticMode = async (model: OnnxModel, planner: Int8Planner, name: string, staticShapes = false): Promise<ActivationMode> => {
  const calibrator = new ActivationCalibrator({ method: "max" })
  const tensors = planner.activationTensors()
  const collected = await collectActivations(model, tensors, samples.slice(0, 10), calibrator, { tmpDir: join(root, `${name}-calibrate`), ignorePadding: true })
  const params = new Map<string, QuantParams>()
  for (const t of tensors) {
    const range = calibratedRange(calibrator.result(t))
    params.set(t, paramsForRange("asymmetric-uint8", range.min, range.max, t))
  }
  return { kind: "static", params: (t) => params.get(t)!, rank: (t) => collected.ranks.get(t), staticShapes }
}

/** Every output of `model` on the samples (batched, as the search runs them), by output name. */
const outputsOf = async (model: OnnxModel, name: string, extra: Record<string, ort.Tensor> = {}): Promise<Map<string, Float32Array[]>> => {
  const path = join(root, name, "model.onnx")
  await writeModel(model, path)
  const tokens = model.graph.inputs.filter((i) => i.name !== SWITCH_INPUT)
  const out = new Map<string, Float32Array[]>()
  await withSession(path, async (session) => {
    for (const o of OUTPUTS) out.set(o, await runSessionOutput(session, tokens, o, samples.slice(10), 3, extra))
  })
  return out
}

const maxAbsDiff = (a: readonly Float32Array[], b: readonly Float32Array[]): number => {
  expect(a.length).toBe(b.length)
  let max = 0
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i]!.length)
    for (let j = 0; j < row.length; j++) max = Math.max(max, Math.abs(row[j]! - b[i]![j]!))
  })
  return max
}

const cases = [
  { name: "dynamic onnx, fused attention, int8 embeddings", attention: "fused", embeddings: true, mode: "dynamic-onnx" },
  { name: "dynamic contrib, unfused attention", attention: "unfused", embeddings: false, mode: "dynamic-contrib" },
  { name: "static QDQ, fused attention", attention: "fused", embeddings: false, mode: "static" },
  { name: "static QDQ, unfused attention, int8 embeddings", attention: "unfused", embeddings: true, mode: "static" },
  // Fixed [1, 16] inputs: biases go in as [1, 1, N] (the MatMulAddFusion guard) and float MatMul + Add may become Gemm.
  { name: "static QDQ, fixed shapes", attention: "unfused", embeddings: false, mode: "static", seqlen: 16 },
] as const

describe("switchable int8 model", () => {
  for (const c of cases)
    test(`${c.name}: every configuration gives the separately built model's outputs`, async () => {
      const seqlen = "seqlen" in c ? c.seqlen : undefined
      const encoder = buildTestEncoder({ outliers: true, layers: 2, attention: c.attention, seed: 13, ...(seqlen !== undefined ? { seqlen } : {}) })
      const tag = c.name.replaceAll(/\W+/g, "-")
      const planner = new Int8Planner(encoder.model, { weights: "per-channel", attention: "quantize", embeddings: c.embeddings })
      const activations: ActivationMode = c.mode === "static" ? await staticMode(encoder.model, planner, tag, seqlen !== undefined) : { kind: "dynamic", form: c.mode === "dynamic-onnx" ? "onnx" : "contrib" }
      // The user keeps layer 1's FFN-down in float: no switch, float in every configuration.
      const userFloat = planner.targets.find((t) => t.kind === "linear" && t.weight.name === "encoder.layer.1.output.dense.weight")!.node.name
      const base: Exclusions = new Map([[userFloat, "test"]])
      const groups = groupTargets(planner.targets, "matmul", (n) => base.has(n))
      expect(groups.some((g) => g.nodes.includes(userFloat))).toBe(false)
      expect(groups.some((g) => g.role === "embedding")).toBe(c.embeddings)
      const switchable = planner.buildSwitchable(activations, base, groups)
      expect(switchable.groups).toEqual(groups.map((g) => g.group))
      const names = groups.map((g) => g.group)
      const configurations = [[], ["layer.0.qkv"], ["layer.1.ffn-up"], ["layer.0.attention-output", "layer.0.ffn-down", "layer.1.qkv"], names.filter((_, i) => i % 2 === 0), names]
      for (const [i, keptFloat] of configurations.entries()) {
        const excluded: Exclusions = new Map(base)
        for (const g of groups) if (keptFloat.includes(g.group)) for (const n of g.nodes) excluded.set(n, "kept float")
        const built = await outputsOf(planner.build(activations, excluded).model, `${tag}-built-${i}`)
        const flags = new ort.Tensor("bool", switchFlags(switchable, keptFloat), [names.length])
        const switched = await outputsOf(switchable.model, `${tag}-switchable-${i}`, { [SWITCH_INPUT]: flags })
        for (const o of OUTPUTS) {
          const diff = maxAbsDiff(built.get(o)!, switched.get(o)!)
          if (diff > 1e-6) throw new Error(`${c.name}, float ${JSON.stringify(keptFloat)}: ${o} differs by ${diff}`)
        }
        // The configuration matters: all int8 and all float really differ.
        if (i === configurations.length - 1) {
          const allInt8 = await outputsOf(switchable.model, `${tag}-switchable-int8`, { [SWITCH_INPUT]: new ort.Tensor("bool", switchFlags(switchable, []), [names.length]) })
          expect(maxAbsDiff(allInt8.get("sentence_embedding")!, switched.get("sentence_embedding")!)).toBeGreaterThan(1e-4)
        }
      }
    }, 20_000)

  test("a group name the model does not have is an error naming it", () => {
    expect(() => switchFlags({ groups: ["layer.0.qkv"] }, ["layer.9.qkv"])).toThrow(/layer\.9\.qkv/)
  })
})

test("the search keeps the same groups in float with the switchable model as by rebuilding every candidate", async () => {
  const encoder = buildTestEncoder({ outliers: true, layers: 3, seed: 7 })
  const planner = new Int8Planner(encoder.model, { weights: "per-channel", attention: "quantize", embeddings: false })
  const activations = await staticMode(encoder.model, planner, "search")
  const heldOut = samples.slice(10)
  const reference = await runOutput(encoder.model, join(root, "search-ref", "model.onnx"), "sentence_embedding", heldOut)
  const run = (candidates: "switchable" | "rebuild") =>
    searchExclusions({ planner, activations, base: new Map(), reference, samples: heldOut, output: "sentence_embedding", budget: { meanCosine: 0.9995 }, tmpDir: join(root, `search-${candidates}`), candidates })
  const rebuilt = await run("rebuild")
  const switched = await run("switchable")
  expect(readdirSync(join(root, "search-switchable"))).toEqual([])
  expect(rebuilt.record.steps.length).toBeGreaterThan(1)
  expect(rebuilt.record.keptFloat.length).toBeGreaterThan(0)
  expect(switched.record.keptFloat.map((k) => k.group)).toEqual(rebuilt.record.keptFloat.map((k) => k.group))
  expect(switched.record.order).toEqual(rebuilt.record.order)
  expect(switched.record.steps.map((s) => [s.action, s.keptFloat, s.met])).toEqual(rebuilt.record.steps.map((s) => [s.action, s.keptFloat, s.met]))
  rebuilt.record.steps.forEach((s, i) => expect(Math.abs(switched.record.steps[i]!.mean - s.mean)).toBeLessThan(1e-6))
  rebuilt.record.groups.forEach((g, i) => expect(Math.abs(switched.record.groups[i]!.loss - g.loss)).toBeLessThan(1e-6))
  expect([...switched.exclusions]).toEqual([...rebuilt.exclusions])
}, 20_000)
