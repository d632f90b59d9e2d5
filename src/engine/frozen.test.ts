// `--frozen` by the rules of lock-file.ts: drift fails before the node runs (and the summary
// still lists every step), a code-only change runs and must reproduce the locked output, host-bound
// outputs are checked per host class, measurements only have to run.
import { describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { countingSteps, freshDirsPerTest, runCaptured } from "../../tests/support.ts"
import { defineStep, pipeline } from "./index.ts"
import { LockFile } from "./lock-file.ts"

const fresh = freshDirsPerTest()
const readLock = (dir: string) => LockFile.parse(JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8")))

describe("drift", () => {
  test("a drifted node fails before it runs; its dependants are skipped and the JSON summary lists every step", async () => {
    const dir = fresh()
    const s = countingSteps()
    const build = (suffix: string) => pipeline("p", s.emit({ text: "a" })).then(s.upper({ suffix }).as("up")).then(s.upper({}).as("after"))
    expect((await runCaptured(build(""), dir)).code).toBe(0)
    s.runs.length = 0
    const r = await runCaptured(build("!"), join(dir), ["--frozen"])
    expect(r.code).toBe(1)
    expect(s.runs).toEqual([])
    expect(r.status).toEqual({ emit: "cached", up: "failed", after: "skipped" })
    const up = r.json.steps.find((x) => x.id === "up")!
    expect(up.error!.message).toContain('node "up" drifted from the lock file: param suffix: "" → "!"')
  })

  test("--dry-run --frozen reports drift with a non-zero exit and runs nothing", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(pipeline("p", s.emit({ text: "a" })).then(s.upper({})), dir)
    s.runs.length = 0
    const r = await runCaptured(pipeline("p", s.emit({ text: "b" })).then(s.upper({})), dir, ["--dry-run", "--frozen"])
    expect(r.code).toBe(1)
    expect(s.runs).toEqual([])
    expect(r.status.emit).toBe("failed")
    expect(r.stderr).toContain('node "emit" drifted')
    const clean = await runCaptured(pipeline("p", s.emit({ text: "a" })).then(s.upper({})), dir, ["--dry-run", "--frozen"])
    expect(clean.code).toBe(0)
  })
})

describe("code changes", () => {
  /** A step whose code is the module at `file` (edited by the test) and whose output is `text`. */
  const coded = (file: string, text: string) =>
    defineStep({
      name: "coded",
      version: 1,
      params: z.object({}),
      inputs: {},
      output: "text",
      module: { path: file },
      run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), text)),
    })

  test("a code-only change runs the node under --frozen and passes while the output is unchanged", async () => {
    const dir = fresh()
    const file = join(dir, "coded-step.ts")
    writeFileSync(file, "// version one\nexport {}\n")
    expect((await runCaptured(pipeline("p", coded(file, "same")()), dir)).code).toBe(0)
    writeFileSync(file, "// version two: a refactor\nexport {}\n")
    const r = await runCaptured(pipeline("p", coded(file, "same")()), dir, ["--frozen"])
    expect(r.code).toBe(0)
    expect(r.status.coded).toBe("ran")
    expect(r.json.steps[0]!.reason).toContain("code changed: coded-step.ts")
  })

  test("a code change that alters the output fails --frozen, saying the code changed", async () => {
    const dir = fresh()
    const file = join(dir, "coded-step.ts")
    writeFileSync(file, "// version one\nexport {}\n")
    await runCaptured(pipeline("p", coded(file, "old")()), dir)
    writeFileSync(file, "// version two: new behaviour\nexport {}\n")
    const r = await runCaptured(pipeline("p", coded(file, "new")()), dir, ["--frozen"])
    expect(r.code).toBe(1)
    expect(r.json.steps[0]!.error!.message).toContain("its code changed since the lock file was written")
  })
})

describe("host-bound and measured outputs", () => {
  /** A host-bound step whose fingerprint is the simulated machine's CPU. */
  const machine = { cpu: "A" }
  const optimise = defineStep({
    name: "optimise",
    version: 1,
    params: z.object({}),
    inputs: { text: "text" },
    output: "text",
    fingerprint: () => ({ cpu: machine.cpu }),
    reproducible: "host",
    run: (ctx) =>
      Effect.promise(async () => Bun.write(join(ctx.outDir, "text.txt"), `${await Bun.file(join(ctx.inputs.text.path, "text.txt")).text()} for ${machine.cpu}`)),
  })
  const measure = defineStep({
    name: "measure",
    version: 1,
    params: z.object({}),
    inputs: { text: "text" },
    output: "report",
    reproducible: "measurement",
    run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "qps.txt"), String(Math.random()))),
  })

  test("a lock written on one CPU passes --frozen in a fresh cache on another; portable nodes are still checked", async () => {
    const s = countingSteps()
    const build = (text = "a") => pipeline("p", s.emit({ text })).then(optimise()).then(s.upper({})).fork(measure())
    const dir = fresh()
    machine.cpu = "A"
    expect((await runCaptured(build(), dir)).code).toBe(0)
    const lock = readLock(dir)
    expect(lock.nodes.emit!.outputs).toBeDefined()
    expect(Object.keys(lock.nodes.optimise!.hosts!)).toHaveLength(1)
    // upper consumes a host-bound output, so it is host-bound too.
    expect(lock.nodes.upper!.reproducible).toBe("host")
    expect(lock.nodes.measure!).not.toHaveProperty("outputs")

    // A CI machine: fresh cache, other CPU, the committed lock file.
    machine.cpu = "B"
    const ci = join(dir, "ci-cache")
    const r = await runCaptured(build(), dir, ["--frozen", "--cache-dir", ci])
    expect(r.code).toBe(0)
    expect(r.json.steps.find((x) => x.id === "optimise")!.reason).toContain("is not in the lock file")
    // Same CPU as the lock, fresh cache: host outputs are compared byte for byte and match.
    machine.cpu = "A"
    expect((await runCaptured(build(), dir, ["--frozen", "--cache-dir", join(dir, "ci-cache-2")])).code).toBe(0)
    // A portable node that drifts still fails on the other CPU.
    machine.cpu = "B"
    const drift = await runCaptured(build("z"), dir, ["--frozen", "--cache-dir", ci])
    expect(drift.code).toBe(1)
    expect(drift.status.emit).toBe("failed")
  })

  test("a run on a second host class adds its entry and keeps the first", async () => {
    const s = countingSteps()
    const build = () => pipeline("p", s.emit({ text: "a" })).then(optimise())
    const dir = fresh()
    machine.cpu = "A"
    await runCaptured(build(), dir)
    machine.cpu = "B"
    await runCaptured(build(), dir)
    const hosts = readLock(dir).nodes.optimise!.hosts!
    expect(Object.keys(hosts)).toHaveLength(2)
    expect(new Set(Object.values(hosts).map((h) => h.fingerprint.cpu))).toEqual(new Set(["A", "B"]))
  })
})

describe("a broken lock file", () => {
  test("is an error naming the file and the field (or the JSON problem), with how to recover", async () => {
    const dir = fresh()
    const s = countingSteps()
    const p = () => pipeline("p", s.emit({ text: "a" }))
    expect((await runCaptured(p(), dir)).code).toBe(0)
    const lockPath = join(dir, "pipeline.lock.json")
    const lock = JSON.parse(readFileSync(lockPath, "utf8"))
    writeFileSync(lockPath, JSON.stringify({ ...lock, nodes: { emit: { ...lock.nodes.emit, version: "one" } } }))
    const mistyped = await runCaptured(p(), dir, ["--frozen"])
    expect(mistyped.code).not.toBe(0)
    expect(mistyped.stderr).toContain(`${lockPath}: nodes.emit.version must be a number, got "one"`)
    expect(mistyped.stderr).toContain("delete the lock file and run again")
    writeFileSync(lockPath, "{ not json")
    const garbled = await runCaptured(p(), dir, ["--frozen"])
    expect(garbled.stderr).toContain(`${lockPath}: the lock file is not valid JSON`)
  })
})
