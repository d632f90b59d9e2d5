// Compute helper of kiln's vacc stand-ins (not a vendor tool): runs a stand-in "compiled" model —
// which is the ONNX file vamc's stand-in stored as mod.params — on the CPU with onnxruntime-node, for
// the stand-in vaststreamx module (Python, which has no ONNX Runtime on Debian) and the stand-in vamp.
//
// Protocol, little-endian, on stdin/stdout. Request: u32 rows, u32 seqlen, then int32 input_ids,
// attention_mask, token_type_ids, each rows × seqlen. Reply: u32 0, f64 run µs, f64 rss MB, u32 rank,
// u32 dims…, float32 data of the model's first output; or u32 1, u32 length, UTF-8 message.
// rows = 0 ends the helper.
import * as ort from "onnxruntime-node"

const modelPath = process.argv[2]
if (modelPath === undefined) {
  process.stderr.write("usage: bun ort-helper.ts <model.onnx>\n")
  process.exit(2)
}
const threads = Number(process.env.KILN_STANDIN_THREADS ?? 0)
const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: "all", ...(threads > 0 ? { intraOpNumThreads: threads } : {}) })
const inputMeta = session.inputNames.map((name, i) => ({ name, type: (session.inputMetadata[i] as { type?: string }).type ?? "int64" }))
// A device export fixes the batch at 1 ([1, L]); the compiled model runs a batch of such samples,
// so the helper runs them one at a time and stacks the outputs.
const fixedBatch = (session.inputMetadata[0] as { shape?: readonly unknown[] }).shape?.[0] === 1
const firstOutput = session.outputNames[0]!

const reader = Bun.stdin.stream().getReader()
let buffered = new Uint8Array(0)
const readExactly = async (n: number): Promise<Uint8Array | null> => {
  while (buffered.length < n) {
    const { value, done } = await reader.read()
    if (done) return null
    const next = new Uint8Array(buffered.length + value.length)
    next.set(buffered)
    next.set(value, buffered.length)
    buffered = next
  }
  const out = buffered.slice(0, n)
  buffered = buffered.slice(n)
  return out
}

const write = (parts: readonly Uint8Array[]) => {
  for (const p of parts) process.stdout.write(p)
}
const u32 = (...values: number[]) => new Uint8Array(Uint32Array.from(values).buffer)

for (;;) {
  const header = await readExactly(8)
  if (header === null) break
  const view = new DataView(header.buffer)
  const rows = view.getUint32(0, true)
  const seqlen = view.getUint32(4, true)
  if (rows === 0) break
  const body = await readExactly(rows * seqlen * 4 * 3)
  if (body === null) break
  const arrays = [0, 1, 2].map((k) => new Int32Array(body.buffer.slice(k * rows * seqlen * 4, (k + 1) * rows * seqlen * 4)))
  const byRole: Record<string, Int32Array> = { input_ids: arrays[0]!, attention_mask: arrays[1]!, token_type_ids: arrays[2]! }
  try {
    const run = async (first: number, count: number) => {
      const feeds: Record<string, ort.Tensor> = {}
      for (const { name, type } of inputMeta) {
        const all = byRole[name]
        if (all === undefined) throw new Error(`the model has an input "${name}" the stand-in cannot feed`)
        const data = all.subarray(first * seqlen, (first + count) * seqlen)
        feeds[name] = type === "int32" ? new ort.Tensor("int32", data, [count, seqlen]) : new ort.Tensor("int64", BigInt64Array.from(data, (v) => BigInt(v)), [count, seqlen])
      }
      const out = (await session.run(feeds, [firstOutput]))[firstOutput]!
      return { dims: out.dims, data: out.data instanceof Float32Array ? out.data : Float32Array.from(out.data as ArrayLike<number>) }
    }
    const t0 = performance.now()
    const parts = fixedBatch ? await Promise.all(Array.from({ length: rows }, (_, r) => run(r, 1))) : [await run(0, rows)]
    const micros = (performance.now() - t0) * 1000
    const out = { dims: [rows, ...parts[0]!.dims.slice(1)] }
    const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0))
    let offset = 0
    for (const p of parts) {
      data.set(p.data, offset)
      offset += p.data.length
    }
    const stats = new Float64Array([micros, process.memoryUsage().rss / 1048576])
    write([u32(0), new Uint8Array(stats.buffer), u32(out.dims.length, ...out.dims), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)])
  } catch (error) {
    const message = new TextEncoder().encode(error instanceof Error ? error.message : String(error))
    write([u32(1, message.length), message])
  }
}
await session.release()
