// The sensitivity search's layer-segment chain (layer-segments.ts, segmented-held-out.ts): it cuts
// the switchable model at layer boundaries only (no quantize node apart from the MatMul it feeds,
// every switch in its layer's segment), gives the whole switchable model's fidelity for any sequence
// of configurations — including those that start from values the configuration before left — and
// the search measures the same configurations and keeps the same groups as the whole-model search.
// Tolerance: 1e-6 on every measured mean / min cosine (the one the switchable-vs-rebuilt test allows).
// Why not bit for bit here: a segment declares the hidden state it reads as [batch, sequence, hidden];
// in this test encoder's whole model ORT infers the sequence axis as unknown (position ids come from
// a Range), so it fuses residual Add + LayerNorm into SkipLayerNormalization in the segments only —
// a rounding difference (≤ 1e-8 on the fidelity measured here). On the synthetic bge-m3 layout the
// whole model knows the axes too, and bench/pipeline.ts measured no difference at all.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { readCalibrationSet, writeCalibrationSet, type CalibrationSample } from "../calibration/index.ts"
import type { OnnxModel, OnnxNode } from "../onnx/index.ts"
import { ActivationCalibrator, calibratedRange } from "./calibration.ts"
import { collectActivations } from "./collect-activations.ts"
import { runOutput, withHeldOutSession, type HeldOutFidelity } from "./held-out-fidelity.ts"
import { Int8Planner } from "./int8-planner.ts"
import type { ActivationMode } from "./int8-rewrite.ts"
import { nodeLayerIndex } from "./layer-index.ts"
import { splitAtLayers } from "./layer-segments.ts"
import { groupTargets } from "./matmul-groups.ts"
import { paramsForRange, type QuantParams } from "./params.ts"
import { withSegmentedHeldOut } from "./segmented-held-out.ts"
import { searchExclusions } from "./sensitivity.ts"
import { SWITCH_INPUT, switchFlags } from "./switchable-int8.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-segmented-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const LAYERS = 3
let samples: CalibrationSample[]

beforeAll(() => {
  // Rows of several lengths, so held-out batches are padded differently (and batch 4 makes several batches).
  writeCalibrationSet(testTokenRows(24, buildTestEncoder({ layers: 1 }).vocab, 11), join(root, "calibration"), { seqlen: 16, padId: 0 })
  samples = [...readCalibrationSet(join(root, "calibration")).samples]
})

const staticMode = async (model: OnnxModel, planner: Int8Planner, name: string): Promise<ActivationMode> => {
  const calibrator = new ActivationCalibrator({ method: "max" })
  const tensors = planner.activationTensors()
  const collected = await collectActivations(model, tensors, samples.slice(0, 12), calibrator, { tmpDir: join(root, `${name}-calibrate`), ignorePadding: true })
  const params = new Map<string, QuantParams>()
  for (const t of tensors) {
    const range = calibratedRange(calibrator.result(t))
    params.set(t, paramsForRange("asymmetric-uint8", range.min, range.max, t))
  }
  return { kind: "static", params: (t) => params.get(t)!, rank: (t) => collected.ranks.get(t), staticShapes: false }
}

/** The layer of a node of the original model (what sensitivity.ts anchors segments by). */
const layerOfOriginal = (original: OnnxModel) => {
  const names = new Set(original.graph.nodes.map((n) => n.name))
  const weights = new Set(original.graph.initializers.map((t) => t.name))
  return (node: OnnxNode) => (names.has(node.name) ? nodeLayerIndex(node, (x) => weights.has(x)) : undefined)
}

const cases = [
  { name: "static QDQ, fused attention", attention: "fused", embeddings: false, mode: "static" },
  { name: "static QDQ, unfused attention, int8 embeddings", attention: "unfused", embeddings: true, mode: "static" },
  { name: "dynamic onnx, fused attention", attention: "fused", embeddings: false, mode: "dynamic-onnx" },
  { name: "dynamic contrib, unfused attention", attention: "unfused", embeddings: false, mode: "dynamic-contrib" },
] as const

describe("layer segments of the switchable model", () => {
  for (const c of cases)
    test(`${c.name}: any sequence of configurations gives the whole model's fidelity exactly, re-running only from the first changed layer`, async () => {
      const encoder = buildTestEncoder({ outliers: true, layers: LAYERS, attention: c.attention, seed: 17 })
      const tag = c.name.replaceAll(/\W+/g, "-")
      const planner = new Int8Planner(encoder.model, { weights: "per-channel", attention: "quantize", embeddings: c.embeddings })
      const activations: ActivationMode = c.mode === "static" ? await staticMode(encoder.model, planner, tag) : { kind: "dynamic", form: c.mode === "dynamic-onnx" ? "onnx" : "contrib" }
      const groups = groupTargets(planner.targets, "matmul")
      const switchable = planner.buildSwitchable(activations, new Map(), groups)
      const names = groups.map((g) => g.group)
      const layerOf = layerOfOriginal(encoder.model)

      // The cut: one segment per layer; each layer's switches in its own segment; values crossing a
      // boundary are float activations (no quantized tensor, scale or zero point is split from its MatMul).
      const split = splitAtLayers(switchable.model, "sentence_embedding", layerOf, SWITCH_INPUT)
      expect(split.segments.length).toBe(LAYERS)
      split.segments.forEach((s, i) => {
        const own = groups.flatMap((g, index) => (g.layer === i || (g.layer === undefined && i === 0) ? [index] : []))
        expect([...s.switches].sort((a, b) => a - b)).toEqual(own)
        if (i > 0) for (const x of s.inputs) expect(x).not.toMatch(/quantized|_scale|_zero_point|kiln_int8_groups_\d/)
      })

      const reference = await runOutput(encoder.model, join(root, `${tag}-ref`, "model.onnx"), "sentence_embedding", samples.slice(12))
      const probe = (g: string) => names.filter((n) => n !== g)
      const configurations: (readonly string[])[] = [[], ...names.map(probe), names, ["layer.2.qkv"], ["layer.1.ffn-up", "layer.2.qkv"], names.filter((_, i) => i % 3 === 0), names.filter((_, i) => i % 3 === 0)]
      const whole: HeldOutFidelity[] = []
      await withHeldOutSession(switchable.model, [SWITCH_INPUT], reference, samples.slice(12), "sentence_embedding", join(root, `${tag}-whole`), async (measure) => {
        for (const kept of configurations) whole.push(await measure({ [SWITCH_INPUT]: new ort.Tensor("bool", switchFlags(switchable, kept), [names.length]) }))
      }, undefined, 4)
      const starts: number[] = []
      await withSegmentedHeldOut(
        { model: switchable.model, switchInput: SWITCH_INPUT, layerOf, reference, samples: samples.slice(12), output: "sentence_embedding", dir: join(root, `${tag}-segmented`), batch: 4 },
        async (measure) => {
          for (const [i, kept] of configurations.entries()) {
            const run = await measure(switchFlags(switchable, kept))
            expect(run.fidelity.metric).toBe(whole[i]!.metric)
            expect(Math.abs(run.fidelity.mean - whole[i]!.mean)).toBeLessThan(1e-6)
            expect(Math.abs(run.fidelity.min - whole[i]!.min)).toBeLessThan(1e-6)
            starts.push(run.from)
          }
        },
      )
      expect(existsSync(join(root, `${tag}-segmented`))).toBe(false)
      // The first run is the whole chain; a probe of a layer-2 group after one of layer 1 starts at layer 1;
      // the all-float configuration after the last probe re-runs only the last layer; a repeat runs nothing.
      expect(starts[0]).toBe(0)
      const probeStart = (g: string) => starts[1 + names.indexOf(g)]!
      expect(probeStart("layer.2.qkv")).toBe(1)
      expect(probeStart("layer.2.ffn-down")).toBe(2)
      expect(starts[1 + names.length]).toBe(LAYERS - 1)
      expect(starts.at(-1)).toBe(LAYERS)
      // The configurations differ, so equal fidelity is not a given.
      expect(new Set(whole.map((f) => f.mean)).size).toBeGreaterThan(configurations.length / 2)
    }, 30_000)
})

test("the search records exactly what it recorded running the whole switchable model per configuration", async () => {
  const encoder = buildTestEncoder({ outliers: true, layers: 4, seed: 7 })
  const planner = new Int8Planner(encoder.model, { weights: "per-channel", attention: "quantize", embeddings: false })
  const activations = await staticMode(encoder.model, planner, "search")
  const heldOut = samples.slice(12)
  const reference = await runOutput(encoder.model, join(root, "search-ref", "model.onnx"), "sentence_embedding", heldOut)
  const lines: string[] = []
  const run = (candidates: "switchable" | "segmented") =>
    searchExclusions({
      planner,
      activations,
      base: new Map(),
      reference,
      samples: heldOut,
      output: "sentence_embedding",
      budget: { meanCosine: 0.9998 },
      tmpDir: join(root, `search-${candidates}`),
      candidates,
      batch: 4,
      log: (line) => lines.push(line),
    })
  const whole = await run("switchable")
  const segmented = await run("segmented")
  expect(whole.record.groups.length).toBe(16)
  expect(whole.record.steps.length).toBeGreaterThan(1)
  // The same configurations measured, the same groups kept, every figure within the tolerance.
  const { steps, groups, keptFloat, ...rest } = segmented.record
  const { steps: wholeSteps, groups: wholeGroups, keptFloat: wholeKept, ...wholeRest } = whole.record
  expect(rest).toEqual(wholeRest)
  expect(steps.map((s) => [s.action, s.keptFloat, s.met])).toEqual(wholeSteps.map((s) => [s.action, s.keptFloat, s.met]))
  steps.forEach((s, i) => expect(Math.abs(s.mean - wholeSteps[i]!.mean) + Math.abs(s.min - wholeSteps[i]!.min)).toBeLessThan(1e-6))
  expect(groups.map((g) => g.group)).toEqual(wholeGroups.map((g) => g.group))
  groups.forEach((g, i) => expect(Math.abs(g.loss - wholeGroups[i]!.loss)).toBeLessThan(1e-6))
  expect(keptFloat.map((k) => k.group)).toEqual(wholeKept.map((k) => k.group))
  expect(Math.abs(segmented.fidelity!.mean - whole.fidelity!.mean)).toBeLessThan(1e-6)
  expect([...segmented.exclusions]).toEqual([...whole.exclusions])
  expect(readdirSync(join(root, "search-segmented"))).toEqual([])
  // The probes re-ran a fraction of the segments.
  const summary = lines.find((l) => l.includes("segment runs needed"))!
  const [, needed, total] = /(\d+) of (\d+) segment runs needed/.exec(summary)!.map(Number)
  expect(needed!).toBeLessThan(total! * 0.75)
}, 60_000)
