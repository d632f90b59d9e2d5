// quantize/dequantize as written into graphs agree with ONNX Runtime's QuantizeLinear and
// DequantizeLinear bit for bit, per tensor (uint8) and per channel (int8 weights, axis 1).

import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { GraphBuilder, writeModel } from "../onnx/index.ts"
import { channelParams, paramsForRange, tensorRange } from "./params.ts"
import { dequantize, dequantizePerChannel, quantize, quantizePerChannel } from "./quantize.ts"
import { gaussian, seededRandom } from "./test-random.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-qdq-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const normal = gaussian(seededRandom(21))

test("per-tensor uint8 and per-channel int8 round trips match ORT exactly", async () => {
  const x = Float32Array.from({ length: 6 * 5 }, () => normal() * 3)
  const range = tensorRange(x)
  const p = paramsForRange("asymmetric-uint8", range.min, range.max)
  const w = Float32Array.from({ length: 6 * 5 }, (_, i) => normal() * (1 + (i % 5)))
  const c = channelParams(w, [6, 5], 1, "symmetric-int8")
  const g = new GraphBuilder({ name: "qdq", opset: 17 })
  const xin = g.input("x", "float32", [6, 5])
  const win = g.input("w", "float32", [6, 5])
  const xs = g.initializer("xs", "float32", [], Float32Array.of(p.scale))
  const xz = g.initializer("xz", "uint8", [], Uint8Array.of(p.zeroPoint))
  const ws = g.initializer("ws", "float32", [5], c.scales)
  const wz = g.initializer("wz", "int8", [5], new Int8Array(5))
  const xq = g.op("QuantizeLinear", [xin, xs, xz], { output: "xq" })
  const wq = g.op("QuantizeLinear", [win, ws, wz], { output: "wq", attrs: { axis: 1 } })
  g.output(xq, "uint8", [6, 5])
  g.output(wq, "int8", [6, 5])
  g.output(g.op("DequantizeLinear", [xq, xs, xz], { output: "xdq" }), "float32", [6, 5])
  g.output(g.op("DequantizeLinear", [wq, ws, wz], { output: "wdq", attrs: { axis: 1 } }), "float32", [6, 5])
  const path = join(root, "model.onnx")
  await writeModel(g.build(), path)
  const session = await ort.InferenceSession.create(path)
  const out = await session.run({ x: new ort.Tensor("float32", x, [6, 5]), w: new ort.Tensor("float32", w, [6, 5]) })
  await session.release()
  const ours = { xq: quantize(x, p), wq: quantizePerChannel(w, [6, 5], c) }
  expect([...(out.xq!.data as Uint8Array)]).toEqual([...ours.xq])
  expect([...(out.wq!.data as Int8Array)]).toEqual([...ours.wq])
  expect([...(out.xdq!.data as Float32Array)]).toEqual([...dequantize(ours.xq, p)])
  expect([...(out.wdq!.data as Float32Array)]).toEqual([...dequantizePerChannel(ours.wq, [6, 5], c)])
}, 10_000)
