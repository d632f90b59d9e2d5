// calibrate and quantize as steps: a calibration set numpy can read, int8 for the CPU with the scheme
// in kiln.json, vamc's config for the accelerator, and bad params named.
import { afterEach, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import YAML from "yaml"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { pipeline } from "../../src/engine/index.ts"
import { calibrate, exportOnnx, quantize, synthCheckpoint, synthSts } from "../index.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))
const fresh = () => {
  const d = tempDir()
  dirs.push(d)
  return d
}

const base = () => {
  const exported = exportOnnx({ task: "embedding" }).to(synthCheckpoint({ arch: "bert", size: "tiny", seed: 5 }))
  const calibration = calibrate({ samples: 16, seqlen: 24 }, { dataset: synthSts({ pairs: 16 }) }).to(exported)
  return { exported, calibration }
}

const outputOf = (r: Awaited<ReturnType<typeof runCaptured>>, id: string) => r.json.steps.find((s) => s.id === id)!.outputs.out!.path

describe("quantize step", () => {
  test("static int8 writes model_quantized.onnx and records the scheme in kiln.json", async () => {
    const dir = fresh()
    const { exported, calibration } = base()
    const r = await runCaptured(pipeline("q", exported).then(quantize({ scheme: "static-int8", method: "max" }, { calibration })), dir)
    expect(r.code).toBe(0)
    const out = outputOf(r, "quantize")
    const manifest = JSON.parse(readFileSync(join(out, "kiln.json"), "utf8"))
    expect(manifest.model).toBe("onnx/model_quantized.onnx")
    expect(manifest.quantization.scheme).toBe("static-int8")
    expect(["int8", "mixed"]).toContain(manifest.weights)
    expect(existsSync(join(out, "onnx/model.onnx"))).toBe(false)
    expect(existsSync(join(out, "tokenizer.json"))).toBe(true)
    expect(existsSync(join(outputOf(r, "calibrate"), "vamp", "datalist.txt"))).toBe(true)
  }, 60_000)

  test("target vacc writes vamc's quantize and dataset blocks pointing at its own copy of the calibration samples (no absolute path in the artifact)", async () => {
    const dir = fresh()
    const { exported, calibration } = base()
    const r = await runCaptured(pipeline("q", exported).then(quantize({ target: "vacc", preset: "bge-m3" }, { calibration })), dir)
    expect(r.code).toBe(0)
    const config = YAML.parse(readFileSync(join(outputOf(r, "quantize"), "vamc-quantize.yaml"), "utf8"))
    expect(config.quantize.calibrate_mode).toBe("percentile")
    expect(config.quantize.quantize_operators).toEqual(["!_add"])
    expect(config.dataset.path).toBe("vamc-calibration")
    const samples = readdirSync(join(outputOf(r, "quantize"), "vamc-calibration")).sort()
    expect(samples).toEqual(Array.from({ length: 16 }, (_, i) => `${i}.npz`).sort())
    expect(config.dataset.sampler).toEqual({ suffix: "npz", get_data_num: 16 })
  }, 60_000)

  test("a percentile outside (0, 100] fails naming the field, with QuantizeError's hint", async () => {
    const dir = fresh()
    const { exported, calibration } = base()
    const r = await runCaptured(pipeline("q", exported).then(quantize({ scheme: "static-int8", percentile: 150 }, { calibration })), dir)
    expect(r.code).toBe(1)
    const error = r.json.steps.find((s) => s.id === "quantize")!.error! as { message: string; hint?: string }
    expect(error.message).toContain("percentile")
    // QuantizeError's hint reaches the run report and the terminal.
    expect(error.hint).toBe("fix the quantize params (the message names the field)")
    expect(r.stderr).toContain("hint: fix the quantize params")
  }, 60_000)

  test("an exclude pattern that matches nothing fails naming it", async () => {
    const dir = fresh()
    const { exported, calibration } = base()
    const r = await runCaptured(pipeline("q", exported).then(quantize({ scheme: "dynamic-int8", exclude: { nodes: ["no.such.layer*"] } }, { calibration })), dir)
    expect(r.code).toBe(1)
    expect(r.json.steps.find((s) => s.id === "quantize")!.error!.message).toContain("no.such.layer*")
  }, 60_000)
})
