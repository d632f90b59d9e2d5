import { GraphBuilder, writeModel, optimizeWithOrt } from "../../onnx/index.ts"
import { join } from "node:path"
const K = 64, N = 32
const w = new Int8Array(K * N).map((_, i) => (i * 7) % 100 - 50)
const bias = new Float32Array(N).fill(0.1)
const scalesN = new Float32Array(N).fill(0.01)
const out = "/tmp/qexp"
const variants: Record<string, (g: GraphBuilder, x: string) => string> = {
  qdq_pc_bias: (g, x) => {
    const xs = g.initializer("xs", "float32", [], new Float32Array([0.02]))
    const xz = g.initializer("xz", "uint8", [], new Uint8Array([128]))
    const xq = g.op("QuantizeLinear", [x, xs, xz]); const xd = g.op("DequantizeLinear", [xq, xs, xz])
    const wq = g.initializer("wq", "int8", [K, N], w)
    const ws = g.initializer("ws", "float32", [N], scalesN)
    const wz = g.initializer("wz", "int8", [N], new Int8Array(N))
    const wd = g.op("DequantizeLinear", [wq, ws, wz], { attrs: { axis: 1 } })
    const b = g.initializer("b", "float32", [N], bias)
    return g.op("Add", [g.op("MatMul", [xd, wd]), b])
  },
  qdq_pt_bias: (g, x) => {
    const xs = g.initializer("xs", "float32", [], new Float32Array([0.02]))
    const xz = g.initializer("xz", "uint8", [], new Uint8Array([128]))
    const xq = g.op("QuantizeLinear", [x, xs, xz]); const xd = g.op("DequantizeLinear", [xq, xs, xz])
    const wq = g.initializer("wq", "int8", [K, N], w)
    const ws = g.initializer("ws", "float32", [], new Float32Array([0.01]))
    const wz = g.initializer("wz", "int8", [], new Int8Array(1))
    const wd = g.op("DequantizeLinear", [wq, ws, wz])
    const b = g.initializer("b", "float32", [N], bias)
    return g.op("Add", [g.op("MatMul", [xd, wd]), b])
  },
  qdq_pc_s8act_bias: (g, x) => {
    const xs = g.initializer("xs", "float32", [], new Float32Array([0.02]))
    const xz = g.initializer("xz", "int8", [], new Int8Array([0]))
    const xq = g.op("QuantizeLinear", [x, xs, xz]); const xd = g.op("DequantizeLinear", [xq, xs, xz])
    const wq = g.initializer("wq", "int8", [K, N], w)
    const ws = g.initializer("ws", "float32", [N], scalesN)
    const wz = g.initializer("wz", "int8", [N], new Int8Array(N))
    const wd = g.op("DequantizeLinear", [wq, ws, wz], { attrs: { axis: 1 } })
    const b = g.initializer("b", "float32", [N], bias)
    return g.op("Add", [g.op("MatMul", [xd, wd]), b])
  },
  qdq_pc_nobias: (g, x) => {
    const xs = g.initializer("xs", "float32", [], new Float32Array([0.02]))
    const xz = g.initializer("xz", "uint8", [], new Uint8Array([128]))
    const xq = g.op("QuantizeLinear", [x, xs, xz]); const xd = g.op("DequantizeLinear", [xq, xs, xz])
    const wq = g.initializer("wq", "int8", [K, N], w)
    const ws = g.initializer("ws", "float32", [N], scalesN)
    const wz = g.initializer("wz", "int8", [N], new Int8Array(N))
    const wd = g.op("DequantizeLinear", [wq, ws, wz], { attrs: { axis: 1 } })
    return g.op("Relu", [g.op("MatMul", [xd, wd])])
  },
  dyn_onnx: (g, x) => {
    const [xq, xs, xz] = g.node("DynamicQuantizeLinear", [x], { outputs: 3 })
    const wq = g.initializer("wq", "int8", [K, N], w)
    const wz = g.initializer("wz", "int8", [N], new Int8Array(N))
    const mi = g.op("MatMulInteger", [xq, wq, xz, wz])
    const c = g.op("Cast", [mi], { attrs: { to: 1 } })
    const ws = g.initializer("ws", "float32", [N], scalesN)
    const s = g.op("Mul", [xs, ws])
    const b = g.initializer("b", "float32", [N], bias)
    return g.op("Add", [g.op("Mul", [c, s]), b])
  },
  dyn_onnx_nozp: (g, x) => {
    const [xq, xs, xz] = g.node("DynamicQuantizeLinear", [x], { outputs: 3 })
    const wq = g.initializer("wq", "int8", [K, N], w)
    const mi = g.op("MatMulInteger", [xq, wq, xz])
    const c = g.op("Cast", [mi], { attrs: { to: 1 } })
    const ws = g.initializer("ws", "float32", [N], scalesN)
    const s = g.op("Mul", [xs, ws])
    const b = g.initializer("b", "float32", [N], bias)
    return g.op("Add", [g.op("Mul", [c, s]), b])
  },
}
for (const [name, build] of Object.entries(variants)) {
  for (const rank of [2, 3]) {
    const g = new GraphBuilder({ name, opset: 17, opsets: { "com.microsoft": 1 } })
    const x = g.input("x", "float32", rank === 2 ? ["b", K] : ["b", "s", K])
    const y = build(g, x)
    g.output(y, "float32", rank === 2 ? ["b", N] : ["b", "s", N])
    const p = join(out, `${name}_${rank}`, "model.onnx")
    await writeModel(g.build(), p)
    for (const disabled of [[], ["MatMulAddFusion"]]) {
      try {
        const r = await optimizeWithOrt(p, join(out, `${name}_${rank}`, `opt${disabled.length}.onnx`), { level: "all", disabledOptimizers: disabled })
        console.log(name, "rank", rank, "disabled", disabled.join(","), JSON.stringify(r.opTypeCounts))
      } catch (e) { console.log(name, rank, "ERR", (e as Error).message.slice(0, 200)) }
    }
  }
}
