// Parses what `vamp` prints (vendor-toolchain.md §3, the bge-m3-512-fp16 block, typo "forwad"
// included) into numbers. The block is read line by line against the vendor's layout: a line that
// is missing, out of place or not a number is an error naming the line, never a silent default.
// Lines before "number of samples in each process" (tool logs) are skipped.
import { TargetError } from "../errors.ts"

export interface VampLatency {
  readonly avg: number
  readonly min: number
  readonly max: number
}

export interface VampReport {
  readonly samplesPerProcess: number
  readonly processes: number
  readonly instances: number
  readonly devices: readonly number[]
  readonly batch: number
  readonly samples: number
  readonly forwardSeconds: number
  readonly qps: number
  readonly aiUtilizePercent: number
  readonly dieMemoryMB: number
  /** µs. */
  readonly e2e: VampLatency
  readonly model: VampLatency
}

type Field = { readonly label: string; readonly pattern: RegExp; readonly set?: (m: RegExpMatchArray, into: Record<string, unknown>) => void }

const number = String.raw`(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)`
const field = (label: string, key: string, prefix: string): Field => ({
  label: `${label}: <number>`,
  pattern: new RegExp(`^${prefix}:\\s*${number}$`),
  set: (m, into) => void (into[key] = Number(m[1])),
})
const latency = (group: string): Field[] =>
  (["avg", "min", "max"] as const).map((k) => ({
    label: `${k} latency: <µs>`,
    pattern: new RegExp(`^${k} latency:\\s*${number}$`),
    set: (m, into) => void (((into[group] ??= {}) as Record<string, number>)[k] = Number(m[1])),
  }))

const START = /^number of samples in each process:/
const LAYOUT: readonly Field[] = [
  field("number of samples in each process", "samplesPerProcess", "number of samples in each process"),
  field("number of process", "processes", "number of process"),
  field("- number of instances in each device", "instances", "- number of instances in each device"),
  {
    label: "devices: [<ids>]",
    pattern: /^devices:\s*\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]$/,
    set: (m, into) => void (into.devices = m[1]!.split(",").map((d) => Number(d.trim()))),
  },
  field("batch size", "batch", "batch size"),
  field("samples", "samples", "samples"),
  // The vendor prints "forwad"; accept the corrected spelling too.
  field("forwad time (s)", "forwardSeconds", String.raw`forw(?:a|ar)d time \(s\)`),
  field("throughput (qps)", "qps", String.raw`throughput \(qps\)`),
  field("ai utilize (%)", "aiUtilizePercent", String.raw`ai utilize \(%\)`),
  field("die memory used (MB)", "dieMemoryMB", String.raw`die memory used \(MB\)`),
  { label: "e2e latency (us):", pattern: /^e2e latency \(us\):$/ },
  ...latency("e2e"),
  { label: "model latency (us):", pattern: /^model latency \(us\):$/ },
  ...latency("model"),
]

const bad = (message: string) =>
  new TargetError({ target: "vacc", reason: "bad-output", message: `vamp output ${message}`, hint: "vamp's output layout differs from the vendor's documented block; check the tool version (kiln doctor)" })

/** The number of the last line with text (a final newline does not start another line). */
const lastLine = (lines: readonly string[]): number => {
  let n = lines.length
  while (n > 0 && lines[n - 1]!.trim() === "") n--
  return n
}

/** Parses vamp's stdout; throws TargetError("bad-output") naming the line at fault. */
export const parseVampOutput = (text: string): VampReport => {
  const lines = text.split(/\r?\n/)
  const start = lines.findIndex((l) => START.test(l.trim()))
  if (start < 0) throw bad(`has no line "number of samples in each process: …" (${lines.length} lines read); the tool printed no result block`)
  const into: Record<string, unknown> = {}
  let at = start
  for (const expected of LAYOUT) {
    while (at < lines.length && lines[at]!.trim() === "") at++
    if (at >= lines.length) throw bad(`ends at line ${lastLine(lines)} before "${expected.label}" (truncated output)`)
    const line = lines[at]!.trim()
    const m = line.match(expected.pattern)
    if (m === null) throw bad(`line ${at + 1}: expected "${expected.label}", got "${line}"`)
    expected.set?.(m, into)
    at++
  }
  return into as unknown as VampReport
}
