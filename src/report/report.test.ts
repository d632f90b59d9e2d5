// Run reports end to end on a small pipeline whose steps write the files the real evaluate,
// fidelity, bench and quantize steps write (so each section's content is known): the report a run
// writes, `kiln report` regenerating it from the cache, the CI summary, comparisons, and bad input
// — a lock file or run that does not exist, artifacts gone from the cache, a run that failed halfway.
import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { freshDirsPerTest, runCaptured } from "../../tests/support.ts"
import { blobPath } from "../cache/blobs.ts"
import { cacheLayout } from "../cache/layout.ts"
import { collectGarbage } from "../cache/maintenance.ts"
import { listRunIds, runRecordPath } from "../cache/run-records.ts"
import type { RunReportHook } from "../cli/index.ts"
import { defineStep, pipeline } from "../engine/index.ts"
import { reportCli, reportRun, ReportModel, type ReportRow } from "./index.ts"

const freshDir = freshDirsPerTest()

class FixtureError extends Data.TaggedError("FixtureError")<{ readonly message: string }> {}

const seed = defineStep({ name: "seed", version: 1, params: z.object({}), inputs: {}, output: "seed", run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "seed"), "1")) })

/** Writes `file` with `content` — or logs `log` and fails. */
const fixture = defineStep({
  name: "fixture",
  version: 1,
  params: z.object({ file: z.string(), content: z.unknown(), fail: z.boolean().default(false), log: z.array(z.string()).default([]) }),
  inputs: { seed: "seed" },
  output: "report",
  run: (ctx) =>
    Effect.gen(function* () {
      for (const line of ctx.params.log) yield* ctx.log(line)
      if (ctx.params.fail) return yield* new FixtureError({ message: "the fixture was told to fail" })
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, ctx.params.file), JSON.stringify(ctx.params.content)))
    }),
})

/** A step after another fixture (skipped when that one fails). */
const follow = defineStep({ name: "follow", version: 1, params: z.object({}), inputs: { prev: "report" }, output: "report", run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "x"), "1")) })

const latency = (p50: number) => ({ avg: p50 * 1.2, min: p50 / 2, max: p50 * 4, p50, p90: p50 * 2, p95: p50 * 2.5, p99: p50 * 3 })
const benchJson = (qps: number) => ({
  target: "cpu",
  device: "cpu",
  inputs: 8,
  configs: [1, 8].map((batch) => ({ batch, instances: 1, requests: 100, qps: qps * batch, latency: latency(500 * batch), modelLatency: null, aiUtilizePercent: null, dieMemoryMB: null })),
  details: { host: { ort: "1.30.0", cpu: "Test CPU" }, threads: 2 },
})
const fidelityJson = {
  kind: "fidelity",
  fidelity: { cosine_mean: 0.9991, cosine_p1: 0.995, cosine_min: 0.99, texts: 40 },
  candidate: { main_score: 0.81 },
  reference: { main_score: 0.815 },
  distribution: { measure: "cosine", quantiles: { p0: 0.99, p50: 0.9993, p100: 1 }, histogram: { edges: [0.99, 0.995, 1], counts: [3, 37] } },
  worst: [{ text: "the cat sat on the mat", cosine: 0.99 }],
}
const kilnJson = {
  quantization: {
    scheme: "static-int8",
    details: {
      sensitivity: {
        groups: [
          { group: "layer0.ffn_out", loss: 0.004, macsPerToken: 100 },
          { group: "layer1.qkv", loss: 0.0005, macsPerToken: 300 },
        ],
        keptFloat: [{ group: "layer0.ffn_out", loss: 0.004, macsPerToken: 100, why: "budget" }],
        steps: [
          { action: "all int8", keptFloat: [], predictedLoss: 0.0045, mean: 0.995, min: 0.98, floatMacsShare: 0, met: false },
          { action: "keep float", keptFloat: ["layer0.ffn_out"], predictedLoss: 0.0005, mean: 0.9992, min: 0.995, floatMacsShare: 0.25, met: true },
        ],
        floatMacsShare: 0.25,
        met: true,
      },
    },
  },
}

const rows: ReportRow[] = [
  { label: "int8", evaluate: "evaluate", fidelity: "fidelity", bench: "bench", quantize: "quantize", published: { metric: "cosine_spearman", value: 0.82, source: "MTEB" } },
  { label: "fp32", evaluate: "evaluate-fp32" },
]

const demo = (o: { score?: number; qps?: number; failFidelity?: boolean } = {}) =>
  pipeline("demo", seed({})).fork(
    fixture({ file: "eval.json", content: { kind: "sts", metrics: { main_score: o.score ?? 0.81, cosine_spearman: o.score ?? 0.81 } } }).as("evaluate"),
    fixture({ file: "eval.json", content: { kind: "sts", metrics: { main_score: 0.815 } } }).as("evaluate-fp32"),
    fixture({ file: "eval.json", content: fidelityJson, fail: o.failFidelity ?? false, log: ["comparing 40 texts", "cosine below the floor"] }).as("fidelity"),
    fixture({ file: "bench.json", content: benchJson(o.qps ?? 1000) }).as("bench"),
    fixture({ file: "kiln.json", content: kilnJson }).as("quantize"),
  )

const hook: RunReportHook = { spec: () => ({ title: "demo int8", rows }), write: async ({ cacheRoot, runId }) => reportRun(cacheRoot, runId) }

const capture = () => {
  const o = { out: "", err: "" }
  return { o, out: { write: (s: string) => (o.out += s) }, err: { write: (s: string) => (o.err += s) } }
}

const kilnReport = async (args: string[], env: Record<string, string | undefined> = {}) => {
  const c = capture()
  const code = await reportCli(args, c.out, c.err, env)
  return { code, ...c.o }
}

const modelAt = (path: string) => ReportModel.parse(JSON.parse(readFileSync(path, "utf8")))

describe("a run's report", () => {
  test("written after the run, named in --json: accuracy beside reference and published, fidelity distribution and worst texts, sensitivity, bench, timeline, sizes, environment", async () => {
    const dir = freshDir()
    const run = await runCaptured(demo(), dir, [], { report: hook })
    expect(run.code).toBe(0)
    const paths = (run.json as unknown as { report: { html: string; markdown: string; json: string } }).report
    expect(paths.html).toStartWith(join(dir, "cache", "reports.v1"))
    expect(run.stderr).toContain(`report: ${paths.html}`)
    const m = modelAt(paths.json)
    expect(m.title).toBe("demo int8")
    expect(m.accuracy).toEqual([
      { label: "int8", node: "evaluate", metric: "cosine_spearman", value: 0.81, reference: 0.815, published: { metric: "cosine_spearman", value: 0.82, source: "MTEB" } },
      { label: "fp32", node: "evaluate-fp32", metric: "cosine_spearman", value: 0.815 },
    ])
    expect(m.fidelity[0]!.figures.cosine_mean).toBe(0.9991)
    expect(m.fidelity[0]!.distribution?.histogram.counts).toEqual([3, 37])
    expect(m.fidelity[0]!.worst).toEqual([{ text: "the cat sat on the mat", cosine: 0.99 }])
    expect(m.sensitivity[0]!.int8MacsShare).toBeCloseTo(0.75)
    expect(m.sensitivity[0]!.groups.filter((g) => g.keptFloat).map((g) => g.group)).toEqual(["layer0.ffn_out"])
    expect(m.sensitivity[0]!.steps.map((s) => [s.action, s.keptFloat, s.met])).toEqual([
      ["all int8", 0, false],
      ["keep float", 1, true],
    ])
    expect(m.bench[0]!.configs.map((c) => [c.batch, c.qps])).toEqual([
      [1, 1000],
      [8, 8000],
    ])
    expect(m.steps.filter((s) => s.step === "fixture").every((s) => s.status === "ran" && s.startMs !== undefined && s.endMs! >= s.startMs)).toBe(true)
    expect(m.artifacts.find((a) => a.node === "bench")!.bytes).toBe(JSON.stringify(benchJson(1000)).length)
    expect(m.environment["bench host cpu"]).toBe("Test CPU")
    expect(m.environment.kiln).toBeDefined()

    const html = readFileSync(paths.html, "utf8")
    // Self-contained: no script, nothing fetched.
    expect(html).not.toContain("<script")
    expect(html).not.toMatch(/(src|href)="https?:/)
    // One plot per section with data, each with drawn marks.
    const figures = html.split('<figure class="kiln-plot">').slice(1)
    expect(figures.length).toBe(7)
    for (const f of figures) expect(f).toMatch(/<(rect|circle|path|line)[^>]*>/)
    const md = readFileSync(paths.markdown, "utf8")
    expect(md).toContain("| int8 | — | cosine_spearman | 0.81000 | 0.81500 | -0.00500 | 0.82000 | -0.01000 | MTEB |")
    expect(md).toContain("the cat sat on the mat")
  })

  test("GITHUB_STEP_SUMMARY: the Markdown is appended to it", async () => {
    const dir = freshDir()
    const summary = join(dir, "summary.md")
    writeFileSync(summary, "before\n")
    const run = await runCaptured(demo(), dir, [], { report: hook, env: { GITHUB_STEP_SUMMARY: summary } })
    expect(run.code).toBe(0)
    const text = readFileSync(summary, "utf8")
    expect(text).toStartWith("before\n## demo int8: ok")
    expect(text).toContain("### Throughput and latency")
  })

  test("kiln report <lock file> and <run id> regenerate it from the cache; a second run reports its steps as cached", async () => {
    const dir = freshDir()
    await runCaptured(demo(), dir, [], { report: hook })
    const second = await runCaptured(demo(), dir, [], { report: hook })
    const cache = join(dir, "cache")
    const byLock = await kilnReport([join(dir, "pipeline.lock.json"), "--cache-dir", cache, "--json"])
    expect(byLock.code).toBe(0)
    const paths = JSON.parse(byLock.out) as { json: string; run: string }
    const m = modelAt(paths.json)
    // The lock file stands for its latest run.
    expect(m.run.id).toBe(listRunIds(cacheLayout(cache)).at(-1)!)
    expect(m.steps.filter((s) => s.step === "fixture").map((s) => s.status)).toEqual(["cached", "cached", "cached", "cached", "cached"])
    expect(m.accuracy.length).toBe(2)
    expect(readFileSync(paths.json, "utf8")).toBe(readFileSync((second.json as unknown as { report: { json: string } }).report.json, "utf8"))
    const byId = await kilnReport([listRunIds(cacheLayout(cache))[0]!, "--cache-dir", cache])
    expect(byId.code).toBe(0)
    expect(byId.out).toStartWith("report: ")
  })

  test("without a spec: one row per evaluate / fidelity / bench / quantize node, by id", async () => {
    const dir = freshDir()
    const run = await runCaptured(demo(), dir, [], { report: { write: hook.write } })
    const m = modelAt((run.json as unknown as { report: { json: string } }).report.json)
    // The fixture steps are not named evaluate etc., so nothing is recognised — but the timeline is there.
    expect(m.accuracy).toEqual([])
    expect(m.steps.map((s) => s.id)).toContain("bench")
  })
})

test("kiln cache gc removes a run's report with its run record", async () => {
  const dir = freshDir()
  const layout = cacheLayout(join(dir, "cache"))
  await runCaptured(demo(), dir, [], { report: hook })
  expect(readdirSync(layout.reports).length).toBe(1)
  collectGarbage(layout, 7)
  expect(readdirSync(layout.reports).length).toBe(1)
  collectGarbage(layout, 0, Date.now() + 60_000)
  expect(readdirSync(layout.reports)).toEqual([])
})

describe("kiln report --compare", () => {
  test("B against A: a drop in accuracy and throughput beyond the thresholds is flagged, exit 1; a run against itself has none", async () => {
    const a = freshDir()
    const b = freshDir()
    const cache = join(a, "cache")
    await runCaptured(demo(), a, [], { report: hook })
    await runCaptured(demo({ score: 0.8, qps: 700 }), b, ["--cache-dir", cache], { report: hook })
    const lockA = join(a, "pipeline.lock.json")
    const lockB = join(b, "pipeline.lock.json")
    const r = await kilnReport(["--compare", lockA, lockB, "--cache-dir", cache])
    expect(r.code).toBe(1)
    expect(r.out).toContain("| int8: cosine_spearman | 0.81000 | 0.80000 | -0.01000 | REGRESSION |")
    expect(r.out).toContain("| int8 batch 1: texts/s | 1000.0 | 700.0 | -30.0 % | REGRESSION |")
    expect(r.out).toContain("| fp32: cosine_spearman | 0.81500 | 0.81500 | +0.00000 |  |")
    // Looser thresholds: nothing is flagged.
    const loose = await kilnReport(["--compare", lockA, lockB, "--cache-dir", cache, "--metric-drop", "0.05", "--speed-percent", "50", "--json"])
    expect(loose.code).toBe(0)
    expect(JSON.parse(loose.out).regressions).toBe(0)
    expect(existsSync(JSON.parse(loose.out).html)).toBe(true)
    const same = await kilnReport(["--compare", lockA, lockA, "--cache-dir", cache])
    expect(same.code).toBe(0)
    expect(same.out).toContain("No regressions")
  })

  test("--compare <lock file>: its latest run against the one before (the lock file finds both)", async () => {
    const dir = freshDir()
    const cache = join(dir, "cache")
    const lock = join(dir, "pipeline.lock.json")
    await runCaptured(demo(), dir, [], { report: hook })
    const one = await kilnReport(["--compare", lock, "--cache-dir", cache])
    expect(one.code).toBe(2)
    expect(one.err).toContain(`has one run of this lock file; comparing needs two`)
    await runCaptured(demo({ qps: 500 }), dir, [], { report: hook })
    const r = await kilnReport(["--compare", lock, "--cache-dir", cache])
    expect(r.code).toBe(1)
    const [first, second] = listRunIds(cacheLayout(cache))
    expect(r.out).toContain(`(run ${first}) → demo int8 (run ${second})`)
    expect(r.out).toContain("| int8 batch 8: texts/s | 8000.0 | 4000.0 | -50.0 % | REGRESSION |")
  })
})

describe("bad input", () => {
  test("a lock file or run that does not exist: exit 2, the message names what was looked for, no stack trace", async () => {
    const dir = freshDir()
    const cache = join(dir, "cache")
    const missing = await kilnReport([join(dir, "nope.lock.json"), "--cache-dir", cache])
    expect(missing.code).toBe(2)
    expect(missing.err).toContain(`"${join(dir, "nope.lock.json")}" is neither a lock file nor a run: no file ${join(dir, "nope.lock.json")}`)
    expect(missing.err).toContain("hint: pass a pipeline's lock file")
    expect(missing.err).not.toMatch(/^\s+at /m)
    const noRun = await kilnReport(["1700000000000-1", "--cache-dir", cache])
    expect(noRun.code).toBe(2)
    expect(noRun.err).toContain(`no run 1700000000000-1 in the cache ${cache}`)
    // A lock file this cache never ran.
    writeFileSync(join(dir, "other.lock.json"), JSON.stringify({ pipeline: "x", cacheSchema: 1, nodes: {} }))
    const neverRan = await kilnReport([join(dir, "other.lock.json"), "--cache-dir", cache])
    expect(neverRan.code).toBe(2)
    expect(neverRan.err).toContain(`no run of the lock file ${join(dir, "other.lock.json")} is recorded in the cache ${cache}`)
    expect(neverRan.err).toContain("hint: run its pipeline (the .ts file beside it, with the flags that chose this lock file) with this cache first")
    const usage = await kilnReport(["--compare", "a"])
    expect(usage.code).toBe(2)
    expect(usage.err).toContain("--compare a: with one argument, expected a lock file")
    const tooMany = await kilnReport(["a", "b"])
    expect(tooMany.code).toBe(2)
    expect(tooMany.err).toContain("expected one lock file or run, got 2")
  })

  test("a run recorded before kiln kept step details: says so and how to get a report", async () => {
    const dir = freshDir()
    const layout = cacheLayout(join(dir, "cache"))
    await runCaptured(demo(), dir, [], { report: hook })
    const id = listRunIds(layout)[0]!
    const record = JSON.parse(readFileSync(runRecordPath(layout, id), "utf8"))
    delete record.steps
    writeFileSync(runRecordPath(layout, id), JSON.stringify(record))
    const r = await kilnReport([id, "--cache-dir", layout.root])
    expect(r.code).toBe(2)
    expect(r.err).toContain(`run ${id} (demo) was recorded by a kiln that kept no step details`)
    // The recorded command: the pipeline file and its flags, without --json.
    expect(r.err).toContain(`hint: run the pipeline again: \`bun run ${join(dir, "pipeline.ts")} --cache-dir ${layout.root}\``)
  })

  test("artifacts garbage-collected: the report is written without them, names which, and how to re-create them (exit 1)", async () => {
    const dir = freshDir()
    const layout = cacheLayout(join(dir, "cache"))
    const run = await runCaptured(demo(), dir, [], { report: hook })
    const gone = run.json.steps.filter((s) => s.id === "fidelity" || s.id === "bench")
    for (const s of gone) rmSync(blobPath(layout, s.outputs.out!.digest))
    const r = await kilnReport([join(dir, "pipeline.lock.json"), "--cache-dir", layout.root, "--json"])
    expect(r.code).toBe(1)
    expect(r.err).toContain("2 output(s) of run")
    expect(r.err).toContain("fidelity (fixture), bench (fixture)")
    expect(r.err).toContain(`hint: re-create them by running the pipeline again: \`bun run ${join(dir, "pipeline.ts")} --cache-dir ${layout.root}\``)
    const paths = JSON.parse(r.out) as { json: string; markdown: string; missing: string[] }
    expect(paths.missing).toEqual(["fidelity", "bench"])
    const m = modelAt(paths.json)
    expect(m.fidelity).toEqual([])
    expect(m.bench).toEqual([])
    expect(m.accuracy.map((a) => a.label)).toEqual(["int8", "fp32"])
    expect(readFileSync(paths.markdown, "utf8")).toContain("### Artifacts no longer in the cache")
  })

  test("a run that failed halfway: the report shows what finished, what failed with its log tail, and what never ran", async () => {
    const dir = freshDir()
    const failing = demo({ failFidelity: true })
    // A step after the failing one is skipped.
    const fidelityNode = failing.ends.find((n) => n.label === "fidelity")!
    const run = await runCaptured(failing.also(follow({}).as("after-fidelity").to(fidelityNode as never)), dir, [], { report: hook })
    expect(run.code).toBe(1)
    const paths = (run.json as unknown as { report: { json: string; markdown: string; html: string } }).report
    const m = modelAt(paths.json)
    expect(m.run.ok).toBe(false)
    const failed = m.steps.find((s) => s.id === "fidelity")!
    expect(failed.status).toBe("failed")
    expect(failed.error?.logTail).toEqual(["comparing 40 texts", "cosine below the floor", "error: the fixture was told to fail"])
    expect(m.accuracy.map((a) => a.label)).toEqual(["int8", "fp32"])
    const md = readFileSync(paths.markdown, "utf8")
    expect(md).toStartWith("## demo int8: FAILED")
    expect(md).toContain("The run failed: fidelity.")
    expect(md).toContain("Finished: seed, evaluate, evaluate-fp32, bench, quantize.")
    expect(md).toContain("Not run (an input failed): after-fidelity.")
    expect(md).toContain("cosine below the floor")
    expect(readFileSync(paths.html, "utf8")).toContain("<pre>comparing 40 texts\ncosine below the floor\nerror: the fixture was told to fail</pre>")
    expect(readdirSync(join(dir, "cache", "reports.v1")).length).toBe(1)
  })
})
