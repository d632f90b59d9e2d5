// XᵀX of a block of token rows in ONNX Runtime: its SGEMM runs this ~100× faster than a JavaScript
// loop, which made GPTQ's Hessians the slow part of quantization. Blocks are small (hundreds of
// rows) so float32 sums stay accurate; the caller adds them up in float64.

import * as ort from "onnxruntime-node"
import { join } from "node:path"
import { GraphBuilder, writeModel } from "../onnx/index.ts"
import { openSession } from "./ort-feeds.ts"
import { QuantError } from "./quant-error.ts"

export class GramSessions {
  /** One session per channel count, created on first use. */
  private readonly sessions = new Map<number, Promise<ort.InferenceSession>>()

  constructor(private readonly options: { readonly tmpDir: string; readonly threads?: number }) {}

  private session(k: number): Promise<ort.InferenceSession> {
    let session = this.sessions.get(k)
    if (session === undefined) {
      session = (async () => {
        const g = new GraphBuilder({ name: `gram-${k}`, opset: 17 })
        const x = g.input("x", "float32", ["tokens", k])
        g.output(g.op("MatMul", [g.op("Transpose", [x], { attrs: { perm: [1, 0] } }), x], { output: "gram" }), "float32", [k, k])
        const path = join(this.options.tmpDir, `gram-${k}`, "model.onnx")
        await writeModel(g.build(), path)
        return openSession(path, this.options.threads !== undefined ? { threads: this.options.threads } : {})
      })()
      this.sessions.set(k, session)
    }
    return session
  }

  /** XᵀX [k, k] of `rows` (row-major [n, k]). */
  async gram(rows: Float32Array, k: number): Promise<Float32Array> {
    if (k < 1 || rows.length % k !== 0) throw new QuantError("bad-shape", "gram", `expected [n, ${k}] rows, got ${rows.length} values`)
    const session = await this.session(k)
    const out = await session.run({ x: new ort.Tensor("float32", rows, [rows.length / k, k]) })
    return out.gram!.data as Float32Array
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) await (await session).release()
    this.sessions.clear()
  }
}
