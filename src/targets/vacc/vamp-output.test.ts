// vamp's output block: the vendor's verbatim bge-m3-512-fp16 block parses to its numbers; truncated,
// missing or garbled lines are errors naming the line.
import { describe, expect, test } from "bun:test"
import { TargetError } from "../errors.ts"
import { parseVampOutput } from "./vamp-output.ts"

// VastModelZOO@d53f5d3a nlp/text2vec/bge/README.md, as quoted in vendor-toolchain.md §3 (typo "forwad" included).
const VENDOR_BLOCK = `number of samples in each process: 1024
number of process:1

- number of instances in each device: 1
devices: [0]
batch size: 1
samples: 1024
forwad time (s): 55.6332
throughput (qps): 18.4063
ai utilize (%): 98.4
die memory used (MB): 1679.49
e2e latency (us):
    avg latency: 916291
    min latency: 58992
    max latency: 925643
model latency (us):
    avg latency: 53459
    min latency: 53459
    max latency: 53459
`

const failure = (text: string): TargetError => {
  try {
    parseVampOutput(text)
  } catch (e) {
    return e as TargetError
  }
  throw new Error("parsed")
}

describe("parseVampOutput", () => {
  test("the vendor's block, with tool logs before it", () => {
    const r = parseVampOutput(`[I] loading model\nsome log line\n${VENDOR_BLOCK}`)
    expect(r).toEqual({
      samplesPerProcess: 1024,
      processes: 1,
      instances: 1,
      devices: [0],
      batch: 1,
      samples: 1024,
      forwardSeconds: 55.6332,
      qps: 18.4063,
      aiUtilizePercent: 98.4,
      dieMemoryMB: 1679.49,
      e2e: { avg: 916291, min: 58992, max: 925643 },
      model: { avg: 53459, min: 53459, max: 53459 },
    })
  })

  test("truncated output is a parse error saying what is missing", () => {
    const cut = VENDOR_BLOCK.split("\n").slice(0, 13).join("\n")
    const e = failure(cut)
    expect(e.reason).toBe("bad-output")
    expect(e.message).toMatch(/ends at line 13 before "min latency: <µs>" \(truncated output\)/)
  })

  test("a missing field names the line where it was expected", () => {
    const e = failure(VENDOR_BLOCK.replace("ai utilize (%): 98.4\n", ""))
    expect(e.message).toMatch(/line 10: expected "ai utilize \(%\): <number>", got "die memory used \(MB\): 1679.49"/)
  })

  test("a garbled number names its line", () => {
    expect(failure(VENDOR_BLOCK.replace("throughput (qps): 18.4063", "throughput (qps): 18,4063")).message).toMatch(/line 9: expected "throughput \(qps\): <number>"/)
  })

  test("no result block at all", () => {
    expect(failure("Segmentation fault\n").message).toMatch(/has no line "number of samples in each process/)
  })
})
