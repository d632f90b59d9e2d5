// The hf() source in a pipeline: files come from the Hub (a local server shaped like it) into the
// shared cache, the commit lands in the lock file, --frozen refuses a branch that moved, a dry run
// downloads nothing, and a cache filled by Python's huggingface_hub is read through its symlinks.
import { afterEach, describe, expect, test } from "bun:test"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { openCheckpoint } from "../../src/checkpoint/index.ts"
import { defineStep, pipeline } from "../../src/engine/index.ts"
import { hubSettingsFromEnv } from "../../src/hub/index.ts"
import { type FakeFile, type FakeHub, type FakeRepo, startFakeHub } from "../../src/hub/testing/fake-hub.ts"
import { writePythonCache } from "../../src/hub/testing/python-cache.ts"
import { synthesizeCheckpoint } from "../../src/synth/index.ts"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { hf } from "./hf.ts"

const A = "1".repeat(40)
const B = "2".repeat(40)
const text = (s: string) => new TextEncoder().encode(s)
const files = (hidden: number): Record<string, FakeFile> => ({
  "config.json": { bytes: text(JSON.stringify({ model_type: "bert", hidden_size: hidden })) },
  "tokenizer.json": { bytes: text("{}") },
  "model.safetensors": { bytes: new Uint8Array(70_000).fill(hidden & 0xff), lfs: true },
  "onnx/model.onnx": { bytes: new Uint8Array(50_000).fill(1), lfs: true },
})

const readConfig = defineStep({
  name: "readConfig",
  version: 1,
  params: z.object({}),
  inputs: { model: "hf-checkpoint" },
  output: "text",
  run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "hidden.txt"), String(JSON.parse(readFileSync(join(ctx.inputs.model.path, "config.json"), "utf8")).hidden_size))),
})

const dirs: string[] = []
const hubs: FakeHub[] = []
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close()
  cleanup(...dirs.splice(0))
})

const setup = async () => {
  const repo: FakeRepo & { refs: Record<string, string> } = { type: "model", id: "org/tiny", commits: { [A]: files(8), [B]: files(16) }, refs: { main: A } }
  const hub = await startFakeHub([repo])
  hubs.push(hub)
  const dir = tempDir()
  dirs.push(dir)
  const settings = () => hubSettingsFromEnv({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "hf") }, { timeoutMs: 2_000 })
  const build = (revision?: string) => pipeline("hf-test", hf("org/tiny", { settings, id: "model", ...(revision !== undefined ? { revision } : {}) })).then(readConfig({}))
  return { hub, repo, dir, build }
}

describe("hf() source", () => {
  test("downloads the checkpoint, records the resolved commit in the lock file, and a moved branch fails --frozen", async () => {
    const { hub, repo, dir, build } = await setup()
    const first = await runCaptured(build(), dir)
    expect(first.code).toBe(0)
    expect(first.status).toMatchObject({ model: "cached", readConfig: "ran" })
    expect(hub.requests.some((r) => r.url.includes("onnx"))).toBe(false)
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8"))
    expect(lock.nodes.model.fingerprint).toEqual({ repo: "org/tiny", revision: "main", commit: A })

    expect((await runCaptured(build(), dir, ["--frozen"])).code).toBe(0)
    repo.refs.main = B
    const moved = await runCaptured(build(), dir, ["--frozen"])
    expect(moved.code).not.toBe(0)
    expect(moved.stderr).toContain('node "model"')
    expect(moved.stderr).toContain(`commit ${A} → ${B}`)
    // Without --frozen the run follows the branch and reads the new commit's files.
    const follow = await runCaptured(build(), dir)
    expect(follow.code).toBe(0)
    expect(readFileSync(join(follow.json.steps.find((s) => s.id === "readConfig")!.outputs.out!.path, "hidden.txt"), "utf8")).toBe("16")
  }, 30_000)

  test("a dry run downloads nothing and says what it would fetch", async () => {
    const { hub, dir, build } = await setup()
    const dry = await runCaptured(build(), dir, ["--dry-run"])
    expect(dry.code).toBe(0)
    expect(dry.json.steps.find((s) => s.id === "model")?.reason).toContain("will fetch: org/tiny@main")
    expect(hub.requests).toEqual([])
  })

  test("a pinned commit in a cache filled by Python's huggingface_hub runs with no request at all", async () => {
    const { hub, dir, build } = await setup()
    writePythonCache(join(dir, "hf"), { type: "model", id: "org/tiny" }, B, files(16))
    const r = await runCaptured(build(B), dir)
    expect(r.code).toBe(0)
    expect(hub.requests).toEqual([])
    expect(readFileSync(join(r.json.steps.find((s) => s.id === "readConfig")!.outputs.out!.path, "hidden.txt"), "utf8")).toBe("16")
  }, 30_000)

  test("a gated repo without a token fails the source with the HF_TOKEN hint, no stack trace", async () => {
    const hub = await startFakeHub([{ type: "model", id: "org/gated", commits: { [A]: files(8) }, refs: { main: A }, gated: true }])
    hubs.push(hub)
    const dir = tempDir()
    dirs.push(dir)
    const settings = () => hubSettingsFromEnv({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "hf") }, { timeoutMs: 2_000 })
    const r = await runCaptured(pipeline("gated", hf("org/gated", { settings, id: "model" })).then(readConfig({})), dir)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("HF_TOKEN")
    expect(r.stderr).not.toContain("    at ")
  })
})

describe("hf() source with a real checkpoint layout", () => {
  test("bge-m3's .pt heads are read through the snapshot's symlinks", async () => {
    const dir = tempDir()
    dirs.push(dir)
    await synthesizeCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "m3", seed: 2, out: join(dir, "model") })
    const model: Record<string, FakeFile> = Object.fromEntries(readdirSync(join(dir, "model")).map((f) => [f, { bytes: new Uint8Array(readFileSync(join(dir, "model", f))), lfs: f.endsWith(".pt") || f.endsWith(".safetensors") || f.endsWith(".bin") }]))
    const root = writePythonCache(join(dir, "hf"), { type: "model", id: "BAAI/bge-m3" }, A, model)
    const checkpoint = openCheckpoint(join(root, "snapshots", A))
    try {
      expect([...checkpoint.extras.keys()].sort()).toEqual(["colbert_linear", "sparse_linear"])
    } finally {
      checkpoint.close()
    }
  })
})
