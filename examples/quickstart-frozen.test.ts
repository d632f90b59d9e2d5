// The CI advice in the README, as a test: a fresh checkout of the repo runs the quickstart with
// --frozen against its committed lock file (examples/quickstart.lock.json) into an empty cache and
// passes — on this CPU (every output compared byte for byte) and on a simulated CPU of another
// kind (host-bound outputs are new there; everything portable is still compared) — and after a
// code-only change, which is what every commit to src/ or stdlib/ is to a committed lock.
import { afterAll, beforeAll, expect, test } from "bun:test"
import { appendFileSync, cpSync, existsSync, symlinkSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { readLockFile } from "../src/engine/lock-file.ts"
import { cleanup, tempDir } from "../tests/support.ts"

const repo = resolve(import.meta.dir, "..")
let root = ""
let checkout = ""

interface Step {
  readonly id: string
  readonly step: string
  readonly status: string
  readonly reason?: string
  readonly error?: { readonly message: string }
}

const frozenRun = (cache: string, env: Record<string, string> = {}) => {
  const proc = Bun.spawnSync(["bun", "run", join(checkout, "examples", "quickstart.ts"), "--frozen", "--json", "--cache-dir", join(root, cache)], {
    cwd: checkout,
    env: { ...process.env, ...env },
  })
  const summary = JSON.parse(proc.stdout.toString().trimEnd().split("\n").pop() ?? "{}") as { ok: boolean; steps: Step[] }
  return { code: proc.exitCode, summary, stderr: proc.stderr.toString() }
}

beforeAll(() => {
  root = tempDir("kiln-fresh-clone-")
  checkout = join(root, "kiln")
  for (const path of ["src", "stdlib", "examples", "package.json", "bun.lock", "tsconfig.json"]) cpSync(join(repo, path), join(checkout, path), { recursive: true })
  symlinkSync(join(repo, "node_modules"), join(checkout, "node_modules"))
})
afterAll(() => cleanup(root))

test("the committed quickstart lock file passes --frozen in a fresh checkout and an empty cache", () => {
  expect(existsSync(join(checkout, "examples", "quickstart.lock.json"))).toBe(true)
  const r = frozenRun("cache-here")
  if (r.code !== 0) console.error(r.stderr)
  expect(r.code).toBe(0)
  expect(r.summary.steps.length).toBe(19)
  expect(r.summary.steps.every((s) => s.status === "ran" || s.status === "cached")).toBe(true)
}, 300_000)

test("... and on a CPU of another kind, where only host-bound outputs go unchecked", () => {
  const cpuinfo = join(root, "cpuinfo")
  writeFileSync(cpuinfo, "processor\t: 0\nmodel name\t: Simulated CPU without AVX-512\nflags\t\t: fpu sse sse2 avx avx2 fma f16c\n")
  const r = frozenRun("cache-other-cpu", { KILN_CPUINFO: cpuinfo })
  if (r.code !== 0) console.error(r.stderr)
  expect(r.code).toBe(0)
  const compile = r.summary.steps.find((s) => s.id === "compile")!
  expect(compile.reason).toContain("is not in the lock file")
  // The portable part ran and was compared: export, calibrate and quantize carry no such note.
  for (const id of ["exportOnnx", "calibrate", "quantize"]) expect(r.summary.steps.find((s) => s.id === id)!.reason ?? "").not.toContain("not in the lock file")
}, 300_000)

test("a code-only change since the lock was written: the changed step re-runs under --frozen and must reproduce its locked output", () => {
  // The quantize step's own file: its code digest moves, its output must not.
  appendFileSync(join(checkout, "stdlib", "steps", "quantize.ts"), "\n// a refactor that changes no output\n")
  const r = frozenRun("cache-here")
  if (r.code !== 0) console.error(r.stderr)
  expect(r.code).toBe(0)
  const quantize = r.summary.steps.find((s) => s.id === "quantize")!
  expect(quantize.status).toBe("ran")
  expect(quantize.reason).toContain("code changed since the lock file")
  // Its output equals the locked one, so nothing downstream needed to run again (measurements aside).
  const locked = readLockFile(join(checkout, "examples", "quickstart.lock.json"))!.nodes
  const ranAgain = r.summary.steps.filter((s) => s.status === "ran" && locked[s.id]?.reproducible !== "measurement").map((s) => s.id)
  expect(ranAgain).toEqual(["quantize"])
}, 300_000)
