// exportOnnx and synthCheckpoint run through the engine: a synthetic tiny checkpoint is exported
// to a valid onnx-model artifact, a second run is served from the cache, and a bad checkpoint
// fails the step with the exporter's message.
import { afterAll, expect, test } from "bun:test"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { readModelManifest } from "../../src/artifacts/index.ts"
import { local, pipeline } from "../../src/engine/index.ts"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { exportOnnx } from "./export-onnx.ts"
import { synthCheckpoint } from "./synth-checkpoint.ts"

const dir = tempDir("kiln-export-step-")
afterAll(() => cleanup(dir))

test("synthCheckpoint → exportOnnx produces an onnx-model folder, then hits the cache", async () => {
  const p = pipeline("export-tiny", synthCheckpoint({ arch: "xlm-roberta", task: "m3", seed: 3 })).then(exportOnnx({ task: "m3", seqlen: 16, int32: true }))
  const first = await runCaptured(p, dir)
  expect(first.code).toBe(0)
  const step = first.json.steps.find((s) => s.step === "exportOnnx")!
  expect(step.status).toBe("ran")
  const folder = Object.values(step.outputs)[0]!.path
  const manifest = readModelManifest(folder)
  expect(manifest).toMatchObject({ task: "m3", family: "xlm-roberta", seqlen: 16 })
  expect(manifest.inputs.map((i) => `${i.name}:${i.dtype}`)).toEqual(["input_ids:int32", "attention_mask:int32"])
  expect(existsSync(join(folder, "onnx", "model.onnx"))).toBe(true)
  expect(existsSync(join(folder, "tokenizer.json"))).toBe(true)

  const second = await runCaptured(p, dir)
  expect(second.code).toBe(0)
  expect(second.json.steps.every((s) => s.status !== "ran")).toBe(true)
}, 60_000)

test("a checkpoint the exporter rejects fails the step with the exporter's message", async () => {
  const bad = join(dir, "bad-checkpoint")
  mkdirSync(bad, { recursive: true })
  writeFileSync(join(bad, "config.json"), JSON.stringify({ model_type: "gpt2" }))
  const result = await runCaptured(pipeline("export-bad", local("hf-checkpoint", bad)).then(exportOnnx({ task: "embedding" })), dir)
  expect(result.code).not.toBe(0)
  const step = result.json.steps.find((s) => s.step === "exportOnnx")!
  expect(step.status).toBe("failed")
  expect(step.error?.message ?? "").toContain('model_type "gpt2" is not supported')
}, 60_000)

test("params are validated when the pipeline is built, naming the field", () => {
  expect(() => exportOnnx({ task: "embedding", seqlen: 1 })).toThrow(/seqlen/)
  expect(() => exportOnnx({ task: "classify" as "embedding" })).toThrow(/task/)
})
