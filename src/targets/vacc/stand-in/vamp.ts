// kiln's STAND-IN for VastAI's `vamp` profiler — not the vendor tool, and it says so in --version and
// on stderr. It takes the flags the vendor's docs use (vendor-toolchain.md §3) and checks them:
//   -m <prefix> --vdsp_params <json> -d <die> -i <instances> -p <processes> -b <batch>
//   -s [[1,L],…] (six shapes) --datalist <txt> [--iterations N] [-t N] [--path_output DIR]
// Stray positionals such as the docs' "p 1" (a missing dash, ~180 times in the vendor's docs) are
// tolerated with a warning, as the docs imply the real tool does. Checks: the prefix's mod.{so,json,
// params}; the vdsp JSON's OpType; six shapes equal to the model's; every datalist npz holding six
// int32 arrays (read by position) shaped as -s; the die exists. Then it runs the model for real on the
// CPU (ONNX Runtime, through ort-helper.ts), `iterations` batches (default: 1024 samples, as vamp),
// and prints vamp's block with what it measured: e2e = one batch from hand-off to outputs, model =
// inside ONNX Runtime; "ai utilize" = model time / wall time; "die memory" = the helper's RSS.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { readNpz, writeNpz } from "../../../numpy/index.ts"

export const STAND_IN_VERSION = "vamp 0.0.0+kiln.stand-in (kiln stand-in for VastAI vamp: measures the CPU, not a card)"

const fail = (message: string): never => {
  process.stderr.write(`vamp (kiln stand-in): error: ${message}\n`)
  process.exit(1)
}

const FLAGS: Record<string, string> = {
  "-m": "model", "--model": "model", "--vdsp_params": "vdsp", "-d": "device", "--device_ids": "device",
  "-i": "instances", "--instance": "instances", "-p": "processes", "--processes": "processes",
  "-b": "batch", "--batch_size": "batch", "-s": "shape", "--shape": "shape", "--datalist": "datalist",
  "--path_output": "output", "--iterations": "iterations", "-t": "t", "--hwconfig": "hwconfig",
  "--forward_mode": "forwardMode", "--backend": "backend", "--dtype": "dtype",
}

const args = process.argv.slice(2)
if (args[0] === "--version" || args[0] === "-v") {
  console.log(STAND_IN_VERSION)
  process.exit(0)
}
const opts: Record<string, string> = {}
const stray: string[] = []
for (let i = 0; i < args.length; i++) {
  const a = args[i]!
  const key = FLAGS[a]
  if (key === undefined) {
    if (a.startsWith("-")) fail(`unknown flag ${a}`)
    stray.push(a)
    continue
  }
  const value = args[++i]
  if (value === undefined) fail(`${a} needs a value`)
  opts[key] = value!
}
if (stray.length > 0) process.stderr.write(`vamp (kiln stand-in): warning: ignoring stray arguments ${JSON.stringify(stray)}\n`)
for (const need of ["model", "vdsp", "shape", "datalist"]) if (opts[need] === undefined) fail(`missing ${Object.entries(FLAGS).find(([, k]) => k === need)![0]}`)
const integer = (name: string, fallback: number): number => {
  const v = opts[name] ?? String(fallback)
  if (!/^\d+$/.test(v) || Number(v) < (name === "device" ? 0 : 1)) fail(`${name} ${v}: expected a positive integer`)
  return Number(v)
}
const device = integer("device", 0)
const instances = integer("instances", 1)
const processes = integer("processes", 1)
const batch = integer("batch", 1)
const prefix = resolve(opts.model!)
for (const suffix of [".so", ".json", ".params"]) if (!existsSync(prefix + suffix)) fail(`-m ${opts.model}: ${prefix}${suffix} not found`)
const meta = JSON.parse(readFileSync(prefix + ".json", "utf8")) as { kiln_stand_in?: string; input_shape: number[][] }
if (meta.kiln_stand_in === undefined) fail(`${prefix}.json was not written by kiln's stand-in vamc; the stand-in cannot profile a real compiled model`)
let vdsp: { OpType?: string; vdsp_op_type?: string }
try {
  vdsp = JSON.parse(readFileSync(opts.vdsp!, "utf8"))
} catch (e) {
  fail(`--vdsp_params ${opts.vdsp}: ${(e as Error).message}`)
}
if (vdsp!.OpType !== "BERT_EMBEDDING_OP" && vdsp!.vdsp_op_type !== "RUN_BERT_EMBEDDING_MODEL")
  fail(`--vdsp_params ${opts.vdsp}: OpType ${JSON.stringify(vdsp!.OpType)}, expected "BERT_EMBEDDING_OP" for BERT models`)
let shapes: number[][]
try {
  shapes = JSON.parse(opts.shape!)
} catch {
  fail(`-s ${opts.shape}: expected [[1,L],[1,L],[1,L],[1,L],[1,L],[1,L]]`)
}
if (!Array.isArray(shapes!) || shapes!.length !== 6) fail(`-s ${opts.shape}: ${Array.isArray(shapes!) ? shapes!.length : "no"} shapes; the compiled BERT model takes six inputs`)
shapes!.forEach((s, k) => {
  if (JSON.stringify(s) !== JSON.stringify(meta.input_shape[k])) fail(`-s entry ${k} is ${JSON.stringify(s)} but the model's input ${k} is ${JSON.stringify(meta.input_shape[k])}`)
})
const devDir = process.env.KILN_VACC_DEV_DIR || "/dev"
const dies = existsSync(devDir) ? readdirSync(devDir).flatMap((f) => /^vastai(\d+)_version$/.exec(f)?.[1] ?? []).map(Number) : []
if (!dies.includes(device)) fail(`-d ${device}: no such die (found ${JSON.stringify(dies)})`)
if (process.env.VSX_DISABLE_DEEPBIND !== "1") process.stderr.write("vamp (kiln stand-in): warning: VSX_DISABLE_DEEPBIND=1 is not set (the vendor's docs export it before vamp)\n")

const listPath = resolve(opts.datalist!)
if (!existsSync(listPath)) fail(`--datalist ${opts.datalist}: no such file`)
const files = readFileSync(listPath, "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "")
if (files.length === 0) fail(`--datalist ${opts.datalist}: empty`)
const samples = files.map((file, line) => {
  if (!existsSync(file)) fail(`--datalist line ${line + 1}: ${file}: no such file`)
  const arrays = [...readNpz(file).entries()]
  if (arrays.length !== 6) fail(`${file}: ${arrays.length} arrays, expected six (read by position)`)
  arrays.forEach(([key, a], k) => {
    if (a.dtype !== "int32") fail(`${file}: "${key}" is ${a.dtype}, expected int32`)
    if (JSON.stringify(a.shape) !== JSON.stringify(shapes[k])) fail(`${file}: "${key}" has shape ${JSON.stringify(a.shape)}, -s says ${JSON.stringify(shapes[k])}`)
  })
  return arrays.map(([, a]) => a.data as Int32Array)
})
process.stderr.write("vamp (kiln stand-in): measuring ONNX Runtime on this CPU, not a VastAI card\n")

const seqlen = shapes![0]![1]!
const iterations = opts.iterations !== undefined ? integer("iterations", 1) : Math.ceil(1024 / batch)
const helper = Bun.spawn([process.env.KILN_BUN ?? "bun", join(dirname(Bun.main), "ort-helper.ts"), `${prefix}.params`], { stdin: "pipe", stdout: "pipe", stderr: "inherit" })
const reader = helper.stdout.getReader()
let buffered = new Uint8Array(0)
const read = async (n: number): Promise<Uint8Array> => {
  while (buffered.length < n) {
    const { value, done } = await reader.read()
    if (done) fail("the compute helper exited")
    const next = new Uint8Array(buffered.length + value!.length)
    next.set(buffered)
    next.set(value!, buffered.length)
    buffered = next
  }
  const out = buffered.slice(0, n)
  buffered = buffered.slice(n)
  return out
}
const outputs: Float32Array[] = []
const e2e: number[] = []
const model: number[] = []
let rss = 0
const begin = performance.now()
for (let it = 0; it < iterations; it++) {
  const rows = Array.from({ length: batch }, (_, r) => samples[(it * batch + r) % samples.length]!)
  const frame = new Uint8Array(8 + batch * seqlen * 12)
  const view = new DataView(frame.buffer)
  view.setUint32(0, batch, true)
  view.setUint32(4, seqlen, true)
  // Inputs 0, 1, 2 (ids, mask, type ids); 3–5 repeat the mask.
  for (let k = 0; k < 3; k++) rows.forEach((s, r) => frame.set(new Uint8Array(s[k]!.buffer, s[k]!.byteOffset, seqlen * 4), 8 + (k * batch + r) * seqlen * 4))
  const t0 = performance.now()
  helper.stdin.write(frame)
  await helper.stdin.flush()
  const status = new DataView((await read(4)).buffer).getUint32(0, true)
  if (status !== 0) {
    const length = new DataView((await read(4)).buffer).getUint32(0, true)
    fail(`run err: ${new TextDecoder().decode(await read(length))}`)
  }
  const stats = new Float64Array((await read(16)).buffer)
  const rank = new DataView((await read(4)).buffer).getUint32(0, true)
  const dims = [...new Uint32Array((await read(4 * rank)).buffer)]
  const data = new Float32Array((await read(4 * dims.reduce((a, b) => a * b, 1))).buffer)
  e2e.push((performance.now() - t0) * 1000)
  model.push(stats[0]!)
  rss = Math.max(rss, stats[1]!)
  if (opts.output !== undefined && it * batch < files.length) outputs.push(data)
}
const seconds = (performance.now() - begin) / 1000
helper.stdin.write(new Uint8Array(8))
await helper.stdin.end()
if (opts.output !== undefined) {
  mkdirSync(opts.output, { recursive: true })
  outputs.forEach((data, i) => writeNpz(join(opts.output!, `${i}.npz`), [["output_0", { dtype: "float32", shape: [data.length], data }]]))
}
const stat = (xs: number[]) => ({ avg: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), min: Math.round(xs.reduce((a, b) => Math.min(a, b))), max: Math.round(xs.reduce((a, b) => Math.max(a, b))) })
const done = iterations * batch
const e = stat(e2e)
const m = stat(model)
console.log(
  [
    `number of samples in each process: ${done}`,
    `number of process:${processes}`,
    "",
    `- number of instances in each device: ${instances}`,
    `devices: [${device}]`,
    `batch size: ${batch}`,
    `samples: ${done}`,
    `forwad time (s): ${seconds.toFixed(4)}`,
    `throughput (qps): ${(done / seconds).toFixed(4)}`,
    `ai utilize (%): ${((model.reduce((a, b) => a + b, 0) / 1e6 / seconds) * 100).toFixed(1)}`,
    `die memory used (MB): ${rss.toFixed(2)}`,
    "e2e latency (us):",
    `    avg latency: ${e.avg}`,
    `    min latency: ${e.min}`,
    `    max latency: ${e.max}`,
    "model latency (us):",
    `    avg latency: ${m.avg}`,
    `    min latency: ${m.min}`,
    `    max latency: ${m.max}`,
  ].join("\n"),
)
