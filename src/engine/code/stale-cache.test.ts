// The stale-cache bug (issue 17 §1): a cache filled by other code must not be served as a hit.
// In a temp copy of the repo, a real pipeline (synth → export → calibrate → quantize → compile) runs
// once; then a comment changes in a module only quantize imports, and onnxruntime-node's version
// changes in the copy's bun.lock. Keys must follow the code; nothing else may move.
import { afterAll, beforeAll, expect, test } from "bun:test"
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { cleanup, tempDir } from "../../../tests/support.ts"

const repo = resolve(import.meta.dir, "../../..")
// The smallest real chain with export, calibrate, quantize and compile.
const PIPELINE = `import { main } from "../src/cli/index.ts"
import { pipeline } from "../src/engine/index.ts"
import { calibrate, compile, exportOnnx, quantize, synthCheckpoint, synthSts } from "../stdlib/index.ts"
const exported = exportOnnx({ task: "embedding" }).to(synthCheckpoint({ arch: "bert", size: "tiny", task: "embedding", seed: 3 }))
const calibration = calibrate({ samples: 8, seqlen: 16 }, { dataset: synthSts({ pairs: 16, seed: 3 }) }).to(exported)
export default main(import.meta, pipeline("stale", exported).then(quantize({ scheme: "dynamic-int8" }, { calibration })).then(compile({ target: "cpu" })))
`
let copy = ""
let cacheDir = ""

interface Summary {
  readonly ok: boolean
  readonly steps: readonly { readonly id: string; readonly status: string; readonly key: string; readonly reason?: string }[]
}

const run = (...args: string[]): { code: number; summary: Summary; stderr: string } => {
  const proc = Bun.spawnSync(["bun", "run", join(copy, "pipelines", "stale.ts"), "--json", "--cache-dir", cacheDir, ...args], { cwd: copy, env: { ...process.env, NO_COLOR: "1" } })
  const stdout = proc.stdout.toString()
  const summary = JSON.parse(stdout.trimEnd().split("\n").pop() ?? "{}") as Summary
  return { code: proc.exitCode ?? -1, summary, stderr: proc.stderr.toString() }
}
const byId = (summary: Summary) => Object.fromEntries(summary.steps.map((s) => [s.id, s]))

beforeAll(() => {
  const root = tempDir("kiln-stale-")
  copy = join(root, "repo")
  cacheDir = join(root, "cache")
  for (const path of ["src", "stdlib", "package.json", "bun.lock", "tsconfig.json"]) cpSync(join(repo, path), join(copy, path), { recursive: true })
  symlinkSync(join(repo, "node_modules"), join(copy, "node_modules"))
  mkdirSync(join(copy, "pipelines"))
  writeFileSync(join(copy, "pipelines", "stale.ts"), PIPELINE)
})
afterAll(() => cleanup(resolve(copy, "..")))

test("a code change re-keys exactly the steps whose code changed; a package bump re-keys its users", () => {
  const first = run()
  expect(first.code).toBe(0)
  const before = byId(first.summary)

  // A comment in a module only quantize imports.
  const gptq = join(copy, "src", "quant", "gptq.ts")
  writeFileSync(gptq, readFileSync(gptq, "utf8").replace("// GPTQ-style", "// GPTQ style"))
  const dry = run("--dry-run")
  expect(dry.code).toBe(0)
  const planned = byId(dry.summary)
  expect(planned.exportOnnx).toMatchObject({ status: "cached", key: before.exportOnnx!.key })
  expect(planned.calibrate).toMatchObject({ status: "cached", key: before.calibrate!.key })
  expect(planned.quantize!.status).toBe("skipped")
  expect(planned.quantize!.reason).toBe("will run: code changed: src/quant/gptq.ts")
  expect(planned.compile!.reason).toContain("upstream quantize will run first")

  const second = run()
  expect(second.code).toBe(0)
  const after = byId(second.summary)
  expect(after.quantize).toMatchObject({ status: "ran" })
  expect(after.quantize!.key).not.toBe(before.quantize!.key)
  expect(after.exportOnnx).toMatchObject({ status: "cached", key: before.exportOnnx!.key })
  expect(after.calibrate).toMatchObject({ status: "cached", key: before.calibrate!.key })

  // onnxruntime-node's version in bun.lock: compile (which runs ORT) gets a new key.
  const lock = join(copy, "bun.lock")
  const text = readFileSync(lock, "utf8")
  expect(text).toContain('"onnxruntime-node@1.30.0"')
  writeFileSync(lock, text.replace('"onnxruntime-node@1.30.0"', '"onnxruntime-node@1.30.1"'))
  const third = run()
  expect(third.code).toBe(0)
  const bumped = byId(third.summary)
  expect(bumped.compile!.key).not.toBe(after.compile!.key)
  expect(bumped.compile!.status).toBe("ran")
  expect(bumped.compile!.reason).toContain("package onnxruntime-node: onnxruntime-node@1.30.0 → onnxruntime-node@1.30.1")
}, 240_000)
