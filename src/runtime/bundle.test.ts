// writeBundle and runtime.json: what a bundle holds, that it still loads after being moved, that
// runtime.json errors name the field, and that a graph tied to another host is refused.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cp, mkdtemp, rename, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeBundle } from "./bundle.ts"
import { Embedder } from "./embedder.ts"
import { Reranker } from "./reranker.ts"
import { parseRuntimeConfig, readRuntimeConfig } from "./runtime-config.ts"
import { fixtureTexts, writeEncoderFixture } from "./testing/encoder-fixture.ts"
import { runtimeFailure as failure } from "./testing/runtime-failure.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-bundle-"))
afterAll(() => rm(root, { recursive: true, force: true }))


const model = await writeEncoderFixture(join(root, "model"), { task: "embedding" })
const written = await writeBundle(model.dir, join(root, "bundle"), { instruction: "query: ", maxLength: 48 })
const validConfig = JSON.parse(readFileSync(join(written.dir, "runtime.json"), "utf8"))

/** Writes a copy of the bundle whose runtime.json has `edit` applied. */
const bundleWith = async (name: string, edit: (config: Record<string, any>) => void): Promise<string> => {
  const dir = join(root, name)
  await cp(written.dir, dir, { recursive: true })
  const config = structuredClone(validConfig)
  edit(config)
  writeFileSync(join(dir, "runtime.json"), JSON.stringify(config))
  return dir
}

describe("writeBundle", () => {
  test("holds the model, tokenizer files, config.json, kiln.json and runtime.json with relative paths", () => {
    for (const file of ["onnx/model.onnx", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config.json", "kiln.json", "runtime.json"]) {
      expect(existsSync(join(written.dir, file))).toBe(true)
    }
    const config = readRuntimeConfig(written.dir)
    expect(config).toMatchObject({
      engine: "onnxruntime",
      task: "embedding",
      model: "onnx/model.onnx",
      tokenizer: ".",
      seqlen: null,
      maxLength: 48,
      instruction: "query: ",
      pooling: "cls",
      pooledInGraph: true,
      normalize: true,
      io: { outputs: { dense: "sentence_embedding", tokens: "last_hidden_state" }, batch: null },
    })
    expect(config.io.inputs.map((i) => `${i.name}:${i.dtype}`)).toEqual(["input_ids:int64", "attention_mask:int64", "token_type_ids:int64"])
    expect(config.sessionOptions).toMatchObject({ graphOptimizationLevel: "all", executionMode: "sequential", enableCpuMemArena: true })
    expect(readFileSync(join(written.dir, "runtime.json"), "utf8")).not.toContain(root)
  })

  test("a bundle moved to another directory still loads and embeds the same", async () => {
    const texts = fixtureTexts(6)
    const before = await Embedder.load(written.dir, { threads: 1 })
    const expected = await before.embed(texts)
    await before.close()
    const moved = join(root, "elsewhere", "deep", "bundle")
    await cp(written.dir, join(root, "to-move"), { recursive: true })
    await cp(join(root, "to-move"), moved, { recursive: true })
    await rm(join(root, "to-move"), { recursive: true })
    const after = await Embedder.load(moved, { threads: 1 })
    try {
      expect(Array.from((await after.embed(texts)).dense.data)).toEqual(Array.from(expected.dense.data))
    } finally {
      await after.close()
    }
  })

  test("session option overrides and a maxLength beyond the model are checked", async () => {
    const custom = await writeBundle(model.dir, join(root, "custom"), { sessionOptions: { intraOpNumThreads: 1, configEntries: { "session.intra_op.allow_spinning": "0" } } })
    expect(custom.config.sessionOptions.intraOpNumThreads).toBe(1)
    expect(custom.config.sessionOptions.configEntries).toEqual({ "session.intra_op.allow_spinning": "0" })
    const embedder = await Embedder.load(custom.dir)
    expect(embedder.bundle.pool.threadsPerInstance).toBe(1)
    await embedder.close()
    const error = await failure(() => writeBundle(model.dir, join(root, "too-long"), { maxLength: 65 }))
    expect(error.message).toContain("maxLength 65 must be an integer in [1, 64]")
  })

  test("a model folder without tokenizer.json is refused, naming the file", async () => {
    const broken = join(root, "broken-model")
    await cp(model.dir, broken, { recursive: true })
    await rm(join(broken, "tokenizer.json"))
    const error = await failure(() => writeBundle(broken, join(root, "broken-bundle")))
    expect(error.message).toContain("no tokenizer.json")
  })
})

describe("runtime.json validation names the field", () => {
  const cases: [string, (c: Record<string, any>) => void, string][] = [
    ["input dtype", (c) => (c.io.inputs[0].dtype = "float32"), `: io.inputs[0].dtype must be one of`],
    ["absolute model path", (c) => (c.model = "/etc/model.onnx"), `: model: must be a path relative to the bundle`],
    ["escaping model path", (c) => (c.model = "../other/model.onnx"), `: model: `],
    ["unknown key", (c) => (c.threads = 4), `has unknown field "threads"`],
    ["missing input role", (c) => (c.io.inputs = c.io.inputs.slice(1)), `: io.inputs: needs an input with role "input_ids"`],
    ["reranker without logits", (c) => (c.task = "reranker"), `: io.outputs.logits: required for task reranker`],
    ["maxLength beyond static seqlen", (c) => (c.seqlen = 32), `: maxLength: 48 exceeds the static seqlen 32`],
    ["session option", (c) => (c.sessionOptions.graphOptimizationLevel = "max"), `: sessionOptions.graphOptimizationLevel must be one of`],
  ]
  for (const [name, edit, expected] of cases) {
    test(name, async () => {
      const dir = await bundleWith(`bad-${name.replaceAll(" ", "-")}`, edit)
      const error = await failure(() => Embedder.load(dir))
      expect(error.reason).toBe("invalid-bundle")
      expect(error.message).toContain(join(dir, "runtime.json"))
      expect(error.message).toContain(expected)
    })
  }

  test("a missing runtime.json says what the folder should be", async () => {
    const error = await failure(() => Embedder.load(model.dir))
    expect(error.message).toContain("runtime.json: cannot read the runtime config (no such file): is this a deployment bundle?")
  })

  test("parseRuntimeConfig accepts what writeBundle wrote", () => {
    expect(parseRuntimeConfig(validConfig, "runtime.json").maxLength).toBe(48)
  })

  test("a model file named in runtime.json but absent is reported", async () => {
    const dir = await bundleWith("no-model", () => {})
    await rename(join(dir, "onnx", "model.onnx"), join(dir, "onnx", "other.onnx"))
    const error = await failure(() => Embedder.load(dir))
    expect(error.message).toContain("names onnx/model.onnx, which is missing from the bundle")
  })
})

describe("loading", () => {
  test("a graph compiled for another ORT version or CPU is refused unless allowed", async () => {
    const dir = await bundleWith("foreign", (c) => (c.compiledFor = { ort: "1.29.0", cpu: "elsewhere", features: [] }))
    const error = await failure(() => Embedder.load(dir))
    expect(error.reason).toBe("incompatible-host")
    expect(error.message).toContain("onnxruntime-node 1.29.0")
    const embedder = await Embedder.load(dir, { allowForeignHost: true, threads: 1 })
    await embedder.close()
  })

  test("the wrong class for the task is a clear error", async () => {
    const error = await failure(() => Reranker.load(written.dir))
    expect(error.message).toContain(`task is "embedding"; load it with Embedder.load`)
  })

  test("bad loader options name the option", async () => {
    const error = await failure(() => Embedder.load(written.dir, { instances: 0 }))
    expect(error.message).toContain(`option "instances": 0`)
  })
})
