// The results table reads each report through its schema: well-formed reports fill the row, a
// missing one shows "—", and a malformed one is an error naming the file and the field.
import { afterAll, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, tempDir } from "../tests/support.ts"
import { printRunTable } from "./report.ts"

const root = tempDir()
afterAll(() => cleanup(root))

const output = (id: string, file: string, json: unknown) => {
  const path = join(root, id)
  mkdirSync(path, { recursive: true })
  writeFileSync(join(path, file), JSON.stringify(json))
  return { id, outputs: { out: { path } } }
}
const latency = { avg: 900, min: 800, max: 1000, p50: 880, p90: 950, p95: 970, p99: 990 }
const config = (batch: number, qps: number) => ({ batch, instances: 1, requests: 10, qps, latency, modelLatency: null, aiUtilizePercent: null, dieMemoryMB: null })
const result = (steps: unknown[]) => ({ exitCode: 0, mode: "run", json: false, summary: { pipeline: "p", ok: true, steps } }) as never
const silent = { write: () => undefined }

test("a row shows the main score, fidelity and the best batch's qps and p50", () => {
  const steps = [
    output("evaluate", "eval.json", { kind: "sts", metrics: { main_score: 0.81234 } }),
    output("fidelity", "eval.json", { kind: "fidelity", fidelity: { cosine_mean: 0.9991, cosine_min: 0.99 } }),
    output("bench", "bench.json", { target: "cpu", device: "cpu", inputs: 8, configs: [config(1, 50), config(8, 120.5)], details: {} }),
  ]
  const table = printRunTable(result(steps), [{ label: "fp32", evaluate: "evaluate", fidelity: "fidelity", bench: "bench" }, { label: "int8", evaluate: "absent" }], silent)
  const [, , fp32, int8] = table.trimEnd().split("\n")
  expect(fp32!.trimEnd().split(/\s{2,}/)).toEqual(["fp32", "0.8123", "0.999100", "0.990000", "120.5 (8)", "880"])
  expect(int8!.trimEnd().split(/\s{2,}/)).toEqual(["int8", "—", "—", "—", "—", "—"])
})

test("a malformed report is an error naming the file and the field", () => {
  const steps = [output("bad-eval", "eval.json", { kind: "sts", metrics: { main_score: "high" } }), output("bad-bench", "bench.json", { target: "cpu", configs: [] })]
  expect(() => printRunTable(result(steps), [{ label: "x", evaluate: "bad-eval" }], silent)).toThrow(/bad-eval\/eval\.json: metrics\.main_score must be a number, got "high"/)
  expect(() => printRunTable(result(steps), [{ label: "x", bench: "bad-bench" }], silent)).toThrow(/bad-bench\/bench\.json: device is missing/)
})
