// kiln's stand-in vamc on int8: it applies the quantize block the way kiln's static int8 does (QDQ),
// so int8 through the stand-ins carries int8 rounding error instead of being fp16 in disguise —
// weights quantized, the layers exclude_layers names kept in float, what it cannot follow (vamc's
// integer layer numbers, names matching nothing) said on stderr.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { exportEncoder } from "../../../export/index.ts"
import { writeNpz } from "../../../numpy/index.ts"
import { readModel } from "../../../onnx/index.ts"
import { synthesizeCheckpoint } from "../../../synth/index.ts"
import { cleanup, tempDir } from "../../../../tests/support.ts"
import { deviceExportSettings } from "../device-export.ts"
import { standInEnvironment } from "./env.ts"

const L = 16
let dir = ""

beforeAll(async () => {
  dir = tempDir("kiln-vamc-int8-")
  await synthesizeCheckpoint({ arch: "bert", size: "tiny", task: "embedding", seed: 9, out: join(dir, "ckpt") })
  await exportEncoder({ checkpointDir: join(dir, "ckpt"), outDir: join(dir, "model"), ...deviceExportSettings("embedding", L) })
  mkdirSync(join(dir, "calibration"))
  for (let i = 0; i < 4; i++) {
    const length = 6 + i
    const ids = new Float32Array(L).map((_, k) => (k === 0 ? 101 : k < length - 1 ? 200 + ((k * 37 + i * 11) % 700) : k === length - 1 ? 102 : 0))
    const mask = new Float32Array(L).map((_, k) => (k < length ? 1 : 0))
    const arr = (data: Float32Array) => ({ dtype: "float32" as const, shape: [1, L], data })
    writeNpz(join(dir, "calibration", `${i}.npz`), [["input_ids", arr(ids)], ["attention_mask", arr(mask)], ["token_type_ids", arr(new Float32Array(L))]])
  }
}, 120_000)
afterAll(() => cleanup(dir))

const yaml = (dtype: string, exclude: string) => `name: m-${dtype}
frontend:
  checkpoint: ${join(dir, "model", "onnx", "model.onnx")}
  shape:
    input_ids: [1, ${L}]
    attention_mask: [1, ${L}]
    token_type_ids: [1, ${L}]
backend:
  type: tvm_vacc
  dtype: ${dtype}
  compile:
    cluster_mode: 0
    data_type: 0
    output_layout: ["0:YX"]
  quantize:
    calibrate_mode: max
    quantize_per_channel: false
    overflow_adaptive: 1
    calibrate_range: 0.99999
    exclude_layers: ${exclude}
    quantize_operators: ["!_add"]
dataset:
  type: tvm
  path: ${join(dir, "calibration")}
  sampler:
    suffix: npz
    get_data_num: 4
workspace:
  path: ./vacc_deploy
`

const vamc = (name: string, text: string) => {
  const work = join(dir, name)
  mkdirSync(work, { recursive: true })
  writeFileSync(join(work, "cfg.yaml"), text)
  const r = Bun.spawnSync([standInEnvironment().KILN_VAMC!, "compile", "cfg.yaml"], { cwd: work })
  return { code: r.exitCode, stderr: r.stderr.toString(), out: join(work, "vacc_deploy", `m-${name.split("-")[0]}`) }
}

describe("the stand-in vamc's int8", () => {
  test("quantizes the model per the quantize block (QDQ), keeps the excluded layer in float, and says what it cannot follow", async () => {
    const int8 = vamc("int8-run", yaml("int8", `["encoder.layer.0.output.dense", "encoder.layer.99.output.dense", 7]`))
    if (int8.code !== 0) console.error(int8.stderr)
    expect(int8.code).toBe(0)
    expect(int8.stderr).toContain("exclude_layers [7]: vamc-internal layer numbers")
    expect(int8.stderr).toContain("1 names match no weight of this model (e.g. encoder.layer.99.output.dense)")
    const model = await readModel(join(int8.out, "mod.params"))
    const ops = model.graph.nodes.map((n) => n.opType)
    expect(ops).toContain("QuantizeLinear")
    expect(ops).toContain("DequantizeLinear")
    // The excluded projection multiplies its float weight; layer 1's reads a dequantized int8 one.
    const weightInput = (layer: number) => model.graph.nodes.filter((n) => n.opType === "MatMul").flatMap((n) => n.inputs).find((x) => x.startsWith(`encoder.layer.${layer}.output.dense.weight`))
    expect(weightInput(0)).toBe("encoder.layer.0.output.dense.weight")
    expect(weightInput(1)).toBe("encoder.layer.1.output.dense.weight_DequantizeLinear")
    expect(JSON.parse(readFileSync(join(int8.out, "mod.json"), "utf8")).computes).toContain("kiln's static int8 (QDQ)")

    const fp16 = vamc("fp16-run", yaml("fp16", "[]"))
    expect(fp16.code).toBe(0)
    expect((await readModel(join(fp16.out, "mod.params"))).graph.nodes.some((n) => n.opType === "QuantizeLinear")).toBe(false)
  }, 120_000)
})
