// The quickstart pipeline end to end: export → compile → deploy → evaluate, fidelity and bench,
// a second run served entirely from the cache, and a run into another fresh cache that makes the
// same artifacts (an output is a function of inputs, params and code, never of the cache's path or
// of how long a step took). And as a user runs it, in a real process:
// `--help` prints help only, and Ctrl-C gets the same handling as every pipeline's main() (the
// `interrupted:` line, exit 130, no temp dirs).
import { afterEach, describe, expect, test } from "bun:test"
import { cpSync, existsSync, readdirSync, readFileSync, symlinkSync } from "node:fs"
import { join, resolve } from "node:path"
import { readLockFile } from "../src/engine/lock-file.ts"
import { type CapturedRun, cleanup, runCaptured, tempDir } from "../tests/support.ts"
import { standInEnvironment, standInPython } from "../src/targets/index.ts"
import { quickstart } from "./quickstart.ts"

const file = resolve(import.meta.dir, "quickstart.ts")
const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

const waitFor = async (cond: () => boolean, timeoutMs = 60_000) => {
  const until = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting")
    await Bun.sleep(20)
  }
}

const quick = ["--set", "bench.seconds=0.2", "--set", "bench-int8.seconds=0.2"]
/** The first test's run, reused as one side of the reproducibility check. */
let firstRun: CapturedRun | undefined

describe("quickstart", () => {
  test("quickstart: export → compile → deploy → evaluate, fidelity, bench", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const r = await runCaptured(quickstart, dir, quick)
    expect(r.code).toBe(0)
    firstRun = r
    const out = (id: string, file: string) => JSON.parse(readFileSync(join(r.json.steps.find((s) => s.id === id)!.outputs.out!.path, file), "utf8"))
    expect(out("evaluate", "eval.json").metrics.pairs).toBe(256)
    expect(out("fidelity", "eval.json").fidelity.cosine_mean).toBeGreaterThan(0.9999)
    const benchReport = out("bench", "bench.json")
    expect(benchReport.configs.map((c: { batch: number }) => c.batch)).toEqual([1, 16])
    expect(readFileSync(join(r.json.steps.find((s) => s.id === "bench")!.outputs.out!.path, "vamp.txt"), "utf8")).toContain("throughput (qps):")
    const again = await runCaptured(quickstart, dir, quick)
    expect(Object.values(again.status).every((s) => s === "cached")).toBe(true)
  }, 120_000)

  test("two fresh caches give the same digest for every non-measurement output", async () => {
    let lockOfFresh = ""
    const fresh = async () => {
      const dir = tempDir()
      dirs.push(dir)
      lockOfFresh = join(dir, "pipeline.lock.json")
      return runCaptured(quickstart, dir, quick)
    }
    const first = firstRun ?? (await fresh())
    const second = await fresh()
    expect(first.code).toBe(0)
    expect(second.code).toBe(0)
    // Measurements (a step declaring `reproducible: "measurement"`, and whatever consumes one)
    // differ on every run by design; the run's lock file says which nodes they are.
    const locked = readLockFile(lockOfFresh)!.nodes
    const measured = new Set(Object.keys(locked).filter((id) => locked[id]!.reproducible === "measurement"))
    expect(measured.size).toBeGreaterThan(0)
    const digests = (r: CapturedRun) => Object.fromEntries(r.json.steps.filter((s) => !measured.has(s.id)).map((s) => [s.id, s.outputs.out!.digest]))
    expect(Object.keys(digests(first))).toContain("quantize")
    expect(Object.keys(digests(first)).length + measured.size).toBe(first.json.steps.length)
    expect(digests(second)).toEqual(digests(first))
  }, 180_000)
})

describe("examples/quickstart.ts as a process", () => {
  test("--help prints the help only (no results table) and exits 0", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const proc = Bun.spawn(["bun", "run", file, "--help", "--cache-dir", join(dir, "cache")], { stdout: "pipe", stderr: "pipe" })
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
    expect(code).toBe(0)
    expect(stdout).toContain("--dry-run")
    expect(stdout).not.toContain("STS spearman")
    expect(stdout).not.toMatch(/^-{4,}/m)
    expect(existsSync(join(dir, "cache"))).toBe(false)
  }, 60_000)

  test("Ctrl-C mid-run prints the interrupted line, exits 130 and leaves no temp dirs", async () => {
    const dir = tempDir()
    dirs.push(dir)
    const tmp = join(dir, "cache", "tmp")
    const proc = Bun.spawn(["bun", "run", file, "--cache-dir", join(dir, "cache")], { stdout: "pipe", stderr: "pipe" })
    const stderr = new Response(proc.stderr).text()
    // A step is running once it has a temp dir.
    await waitFor(() => existsSync(tmp) && readdirSync(tmp).length > 0)
    proc.kill("SIGINT")
    expect(await proc.exited).toBe(130)
    expect(await stderr).toContain("interrupted:")
    expect(readdirSync(tmp)).toEqual([])
  }, 90_000)
})

// The stand-in vaststreamx module needs a Python with numpy (Debian's python3-numpy in CI).
describe.skipIf(standInPython() === null)("examples/quickstart.ts --target vacc on kiln's stand-ins", () => {
  test("the whole chain (fp16 and int8 through vamc, vaststreamx, vamp) runs in one process within 90 s; --json names each step's target", async () => {
    // A fresh clone, with the stand-ins it ships.
    const dir = tempDir()
    dirs.push(dir)
    const checkout = join(dir, "kiln")
    const repo = resolve(import.meta.dir, "..")
    for (const path of ["src", "stdlib", "examples", "package.json", "bun.lock", "tsconfig.json"]) cpSync(join(repo, path), join(checkout, path), { recursive: true })
    symlinkSync(join(repo, "node_modules"), join(checkout, "node_modules"))
    const cpuLock = readFileSync(join(checkout, "examples", "quickstart.lock.json"), "utf8")
    const env = { ...process.env, ...standInEnvironment() }
    const run = async (...flags: string[]) => {
      const proc = Bun.spawn(["bun", "run", join(checkout, "examples", "quickstart.ts"), "--target", "vacc", "--json", "--cache-dir", join(dir, "cache"), ...flags], { cwd: checkout, stdout: "pipe", stderr: "pipe", env })
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
      if (code !== 0) console.error(stderr.slice(-4000))
      return { stdout, code }
    }
    const { stdout, code } = await run()
    expect(code).toBe(0)
    // The vacc chain keeps its own lock file; the committed cpu one is untouched, and --frozen holds the vacc run to its own.
    expect(readFileSync(join(checkout, "examples", "quickstart.lock.json"), "utf8")).toBe(cpuLock)
    expect(Object.keys(readLockFile(join(checkout, "examples", "quickstart.vacc.lock.json"))!.nodes)).toContain("compile-int8")
    expect((await run("--frozen")).code).toBe(0)
    const summary = JSON.parse(stdout.trimEnd().split("\n").pop()!) as { ok: boolean; steps: { id: string; status: string; runsOn?: string; outputs: { out?: { path: string } } }[] }
    expect(summary.ok).toBe(true)
    const runsOn = Object.fromEntries(summary.steps.filter((s) => s.runsOn !== undefined).map((s) => [s.id, s.runsOn]))
    expect(runsOn).toEqual({
      compile: "vacc", deploy: "vacc", embed: "vacc", bench: "vacc",
      "compile-int8": "vacc", "deploy-int8": "vacc", "embed-int8": "vacc", "bench-int8": "vacc",
      // The fp32 reference is the same device export, run by ONNX Runtime here.
      "deploy-fp32-plain": "cpu", "embed-fp32-plain": "cpu",
      // evaluate and fidelity read embeddings; they run no model, so they name no target.
    })
    const out = (id: string, name: string) => readFileSync(join(summary.steps.find((s) => s.id === id)!.outputs.out!.path, name), "utf8")
    expect(JSON.parse(out("compile-int8", join("vacc", "model.json"))).dtype).toBe("int8")
    expect(out("compile-int8", join("vacc", "32", "vamc.yaml"))).toContain("quantize:")
    expect(JSON.parse(out("bench", "bench.json")).target).toBe("vacc")
    expect(JSON.parse(out("fidelity", "eval.json")).fidelity.cosine_mean).toBeGreaterThan(0.999)
  }, 150_000)
})
