// Bad checkpoints and bad options fail with an ExportError that names the file, tensor or option
// and what was expected, before anything is written; renamed-but-valid weights are accepted.
import { afterAll, expect, test } from "bun:test"
import { existsSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ExportError } from "../graph/index.ts"
import { exportEncoder } from "./export-encoder.ts"
import { floats, maxAbsDiff, openCheckpoint, paddedBatch, reference, rewriteSafetensors, runOnnx, scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("bad-input")
afterAll(cleanup)

let counter = 0
const freshCheckpoint = (arch: "bert" | "xlm-roberta", task: "embedding" | "m3" = "embedding") => tinyCheckpoint(join(dir, `c${counter++}`), arch, task)

const exportError = async (run: Promise<unknown>): Promise<ExportError> => {
  try {
    await run
  } catch (error) {
    if (error instanceof ExportError) return error
    throw new Error(`expected an ExportError, got ${(error as Error)?.name}: ${(error as Error)?.message}`)
  }
  throw new Error("expected the export to fail")
}

test("an unsupported model_type is rejected naming config.json and the type", async () => {
  const ckpt = await freshCheckpoint("bert")
  const configPath = join(ckpt, "config.json")
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync(configPath, "utf8")), model_type: "gpt2" }))
  const error = await exportError(exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "o1"), task: "embedding" }))
  expect(error.reason).toBe("UnsupportedModel")
  expect(error.message).toContain("config.json")
  expect(error.message).toContain('"gpt2"')
  expect(existsSync(join(dir, "o1"))).toBe(false)
})

test("absurd config values are checked against the weights first and the message names the config field", async () => {
  const cases: readonly (readonly [string, number, RegExp])[] = [
    ["num_hidden_layers", 1_000_000, /field "num_hidden_layers" is 1000000 but the weights hold 2 layers/],
    ["hidden_size", 1 << 20, /field "hidden_size" is 1048576 but the token embedding table "embeddings\.word_embeddings\.weight" has shape \[\d+, 32\]/],
    ["vocab_size", 1_000_000_000, /field "vocab_size" is 1000000000 but the token embedding table "embeddings\.word_embeddings\.weight" has \d+ rows/],
    ["max_position_embeddings", 1_000_000, /field "max_position_embeddings" is 1000000 but the position table "embeddings\.position_embeddings\.weight" has \d+ rows/],
  ]
  for (const [field, value, pattern] of cases) {
    const ckpt = await freshCheckpoint("bert")
    const configPath = join(ckpt, "config.json")
    const config = JSON.parse(readFileSync(configPath, "utf8"))
    // hidden_size must stay a multiple of the heads to pass the schema; the tiny model has 4.
    writeFileSync(configPath, JSON.stringify({ ...config, [field]: value }))
    const error = await exportError(exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `absurd-${field}`), task: "embedding" }))
    expect({ field, reason: error.reason, message: error.message }).toMatchObject({ field, reason: "InvalidCheckpoint", message: expect.stringMatching(pattern) })
    expect(error.message).toStartWith(configPath)
    expect(existsSync(join(dir, `absurd-${field}`))).toBe(false)
  }
})

test("a missing weight is named (the first the graph needs) and nothing is written", async () => {
  const ckpt = await freshCheckpoint("bert")
  rewriteSafetensors(ckpt, (name) =>
    name === "encoder.layer.1.attention.self.key.weight" || name === "encoder.layer.0.output.dense.bias" ? null : { name },
  )
  const error = await exportError(exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "o2"), task: "embedding" }))
  expect(error.reason).toBe("MissingWeight")
  expect(error.detail.tensor).toBe("encoder.layer.0.output.dense.bias")
  expect(error.message).toContain('missing tensor "encoder.layer.0.output.dense.bias"')
  expect(existsSync(join(dir, "o2", "onnx", "model.onnx"))).toBe(false)
})

test("a weight whose shape disagrees with config.json is named with expected and actual shapes", async () => {
  const ckpt = await freshCheckpoint("xlm-roberta")
  rewriteSafetensors(ckpt, (name, shape) => (name === "encoder.layer.0.intermediate.dense.weight" ? { name, shape: [shape[0]!, shape[1]! - 1] } : { name }))
  const error = await exportError(exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "o3"), task: "embedding" }))
  expect(error.reason).toBe("WeightShape")
  expect(error.message).toContain('"encoder.layer.0.intermediate.dense.weight" has shape [64, 31], expected [64, 32]')
})

test("m3 without colbert_linear.pt names the missing head", async () => {
  const ckpt = await freshCheckpoint("xlm-roberta", "m3")
  rmSync(join(ckpt, "colbert_linear.pt"))
  const error = await exportError(exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "o4"), task: "m3" }))
  expect(error.reason).toBe("MissingWeight")
  expect(error.message).toContain("colbert_linear.pt")
})

test("inconsistent options are rejected naming the option", async () => {
  const bert = await freshCheckpoint("bert")
  const xlmr = await freshCheckpoint("xlm-roberta")
  const m3OnBert = await exportError(exportEncoder({ checkpointDir: bert, outDir: join(dir, "o5"), task: "m3" }))
  expect(m3OnBert.reason).toBe("InvalidOptions")
  expect(m3OnBert.message).toContain('task "m3"')
  // The tiny XLM-R has 514 positions: 512 tokens fit, 513 do not.
  const tooLong = await exportError(exportEncoder({ checkpointDir: xlmr, outDir: join(dir, "o6"), task: "embedding", seqlen: 513 }))
  expect(tooLong.message).toContain("max_position_embeddings is 514 (longest input: 512)")
  const badTask = await exportError(exportEncoder({ checkpointDir: xlmr, outDir: join(dir, "o7"), task: "classify" as "embedding" }))
  expect(badTask.reason).toBe("InvalidOptions")
  expect(badTask.message).toContain('option "task"')
  const badDtype = await exportError(exportEncoder({ checkpointDir: xlmr, outDir: join(dir, "o7"), task: "embedding", dtype: "int8" as "fp16" }))
  expect(badDtype.message).toContain('option "dtype"')
})

test("a folder without weights, or with a truncated weights file, is an InvalidCheckpoint error naming the file", async () => {
  const empty = join(dir, "empty")
  const missing = await exportError(exportEncoder({ checkpointDir: empty, outDir: join(dir, "o8"), task: "embedding" }))
  expect(missing.reason).toBe("InvalidCheckpoint")
  expect(missing.message).toContain(join(empty, "config.json"))
  const ckpt = await freshCheckpoint("bert")
  const weights = join(ckpt, "model.safetensors")
  truncateSync(weights, statSync(weights).size - 100)
  const truncated = await exportError(exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "o9"), task: "embedding" }))
  expect(truncated.reason).toBe("InvalidCheckpoint")
  expect(truncated.message).toContain("model.safetensors")
})

test("bert.-prefixed names and legacy LayerNorm gamma/beta names are accepted and give the same model", async () => {
  const ckpt = await freshCheckpoint("bert")
  const checkpoint = openCheckpoint(ckpt)
  const batch = paddedBatch(checkpoint, 7)
  const expected = reference(checkpoint, batch, "embedding")
  checkpoint.close()
  rewriteSafetensors(ckpt, (name) => ({ name: `bert.${name.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta")}` }))
  const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "o10"), task: "embedding" })
  const outputs = await runOnnx(result.modelPath, batch)
  expect(maxAbsDiff(floats(outputs.last_hidden_state), expected.lastHiddenState.data)).toBeLessThanOrEqual(1e-4)
}, 30_000)
