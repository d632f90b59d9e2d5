// Proves the Qwen3 export computes what transformers' Qwen3Model computes: ONNX Runtime outputs of
// a tiny synthetic Qwen3-Embedding export against the independent float64 forward (reference.ts,
// transformers' default positions) on a batch tokenized by transformers.js with Qwen3-Embedding's
// left padding and query instruction, max |diff| ≤ 1e-4; right padding gives the same embeddings;
// fp16, mean pooling, a static shape and `model.`-prefixed weight names; and bad requests named.
import { AutoTokenizer } from "@huggingface/transformers"
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { exportEncoder } from "../../export/index.ts"
import { floats, maxAbsDiff, rewriteSafetensors, runOnnx, scratch, type TokenBatch } from "../../export/test-support.ts"
import { synthesizeCheckpoint } from "../../synth/index.ts"
import { openModel } from "../registry.ts"
import { referenceForward } from "../reference-forward.ts"
import type { Qwen3Config } from "./config.ts"
import { qwen3QueryInstruction } from "./instruction.ts"
import { qwen3Shapes, qwen3Tensors } from "./synth.ts"

const { dir, cleanup } = scratch("qwen3")
afterAll(cleanup)

const checkpoint = join(dir, "ckpt")
await synthesizeCheckpoint({ arch: "qwen3", size: "tiny", task: "embedding", seed: 4, out: checkpoint })
const model = openModel(checkpoint)
afterAll(() => model.close())

const texts = [
  qwen3QueryInstruction() + "what is the capital of the city?",
  "The capital of the city is a large place with many people.",
  "Music and food make people happy.",
  "rain",
]

/** The texts as transformers.js tokenizes them for Qwen3-Embedding: <|endoftext|> appended, padded on the left. */
const leftPadded = async (): Promise<TokenBatch> => {
  const tokenizer = await AutoTokenizer.from_pretrained(checkpoint, { local_files_only: true })
  tokenizer.padding_side = "left"
  const encoded = tokenizer(texts, { padding: true })
  const rows = (t: { tolist(): unknown }) => (t.tolist() as bigint[][]).map((row) => row.map(Number))
  const inputIds = rows(encoded.input_ids)
  return { inputIds, attentionMask: rows(encoded.attention_mask), tokenTypeIds: inputIds.map((row) => row.map(() => 0)) }
}

/** The same rows padded on the right instead. */
const rightPadded = (batch: TokenBatch, padId: number): TokenBatch => {
  const move = (row: number[], mask: number[], fill: number) => [...row.filter((_, t) => mask[t] === 1), ...row.filter((_, t) => mask[t] === 0).map(() => fill)]
  return {
    inputIds: batch.inputIds.map((row, b) => move(row, batch.attentionMask[b]!, padId)),
    attentionMask: batch.attentionMask.map((mask) => move(mask, mask, 0)),
    tokenTypeIds: batch.tokenTypeIds,
  }
}

/** last_hidden_state values at real tokens only (padded query rows see nothing; their values are not part of the contract). */
const realTokens = (values: ArrayLike<number>, mask: number[][], hidden: number): number[] =>
  mask.flatMap((row, b) => row.flatMap((m, t) => (m === 1 ? Array.from({ length: hidden }, (_, c) => values[(b * row.length + t) * hidden + c]!) : [])))

describe("qwen3 export against the float64 reference", () => {
  test("left-padded transformers.js batch: sentence_embedding (last token) and last_hidden_state within 1e-4", async () => {
    const result = await exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "fp32"), task: "embedding" })
    expect(result.manifest).toMatchObject({ family: "qwen3", pooling: "last", normalized: true, maxLength: 512, hiddenSize: 32 })
    expect(result.manifest.inputs.map((i) => i.name)).toEqual(["input_ids", "attention_mask"])
    const batch = await leftPadded()
    expect(batch.attentionMask.some((row) => row[0] === 0)).toBe(true)
    const expected = referenceForward(model.config, model.tensors, {}, batch, "embedding")
    const outputs = await runOnnx(result.modelPath, batch)
    expect(maxAbsDiff(floats(outputs.sentence_embedding), expected.last.data)).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(realTokens(floats(outputs.last_hidden_state), batch.attentionMask, 32), realTokens(expected.lastHiddenState.data, batch.attentionMask, 32))).toBeLessThanOrEqual(1e-4)
    // Not a degenerate model: different texts embed clearly differently.
    const e = floats(outputs.sentence_embedding)
    const cosine = (i: number, j: number) => Array.from({ length: 32 }, (_, c) => e[i * 32 + c]! * e[j * 32 + c]!).reduce((a, b) => a + b, 0)
    expect(Math.max(cosine(0, 2), cosine(1, 3), cosine(2, 3))).toBeLessThan(0.95)
  }, 30_000)

  test("right padding (kiln's runtime) gives the same embeddings as left padding", async () => {
    const result = await exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "pad"), task: "embedding" })
    const left = await leftPadded()
    const right = rightPadded(left, (model.config.raw.eos_token_id as number) ?? 0)
    const a = await runOnnx(result.modelPath, left)
    const b = await runOnnx(result.modelPath, right)
    expect(maxAbsDiff(floats(a.sentence_embedding), floats(b.sentence_embedding))).toBeLessThanOrEqual(1e-5)
  }, 30_000)

  test("mean pooling, int32 inputs and a static shape match the reference", async () => {
    const batch = await leftPadded()
    const length = batch.inputIds[0]!.length
    const result = await exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "mean"), task: "embedding", pooling: "mean", int32Inputs: true, seqlen: length })
    expect(result.manifest).toMatchObject({ pooling: "mean", seqlen: length })
    const outputs = await runOnnx(result.modelPath, batch, "int32")
    const expected = referenceForward(model.config, model.tensors, {}, batch, "embedding")
    expect(maxAbsDiff(floats(outputs.sentence_embedding), expected.mean.data)).toBeLessThanOrEqual(1e-4)
  }, 30_000)

  test("fp16 weights and compute stay within 1e-2", async () => {
    const result = await exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "fp16"), task: "embedding", dtype: "fp16" })
    const batch = await leftPadded()
    const outputs = await runOnnx(result.modelPath, batch)
    expect(maxAbsDiff(floats(outputs.sentence_embedding), referenceForward(model.config, model.tensors, {}, batch, "embedding").last.data)).toBeLessThanOrEqual(1e-2)
  }, 30_000)

  test("a Qwen3ForCausalLM-style checkpoint (model. prefix, an lm_head) exports the same bytes", async () => {
    const prefixed = join(dir, "prefixed")
    await synthesizeCheckpoint({ arch: "qwen3", size: "tiny", task: "embedding", seed: 4, out: prefixed })
    rewriteSafetensors(prefixed, (name) => ({ name: `model.${name}` }))
    const plain = await exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "plain"), task: "embedding" })
    const viaPrefix = await exportEncoder({ checkpointDir: prefixed, outDir: join(dir, "via-prefix"), task: "embedding" })
    expect(readFileSync(viaPrefix.modelPath).equals(readFileSync(plain.modelPath))).toBe(true)
  }, 30_000)

  test("tasks and poolings qwen3 has no head for are refused naming the option", async () => {
    await expect(exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "r"), task: "reranker" })).rejects.toThrow(/task "reranker" is not one the qwen3 family exports \(tasks: embedding\)/)
    await expect(exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "c"), task: "embedding", pooling: "cls" })).rejects.toThrow(/option "pooling": "cls" is not a pooling of the qwen3 family/)
    await expect(exportEncoder({ checkpointDir: checkpoint, outDir: join(dir, "s"), task: "embedding", seqlen: 513 })).rejects.toThrow(/seqlen 513 is longer than max_position_embeddings 512/)
  })
})

test("size qwen3-embedding-0.6b has Qwen3-Embedding-0.6B's tensor names and shapes (checked without generating values)", () => {
  const shape = qwen3Shapes["qwen3-embedding-0.6b"]!
  const config = { ...(model.config as Qwen3Config), ...shape, numLayers: shape.numLayers, vocabSize: shape.vocabSize }
  const tensors = qwen3Tensors(config, 1, "bfloat16")
  expect(tensors).toHaveLength(1 + 28 * 11 + 1)
  const byName = new Map(tensors.map((t) => [t.name, t.shape]))
  expect(byName.get("embed_tokens.weight")).toEqual([151669, 1024])
  expect(byName.get("layers.27.self_attn.q_proj.weight")).toEqual([2048, 1024])
  expect(byName.get("layers.27.self_attn.k_proj.weight")).toEqual([1024, 1024])
  expect(byName.get("layers.27.self_attn.o_proj.weight")).toEqual([1024, 2048])
  expect(byName.get("layers.27.self_attn.q_norm.weight")).toEqual([128])
  expect(byName.get("layers.27.mlp.down_proj.weight")).toEqual([1024, 3072])
  expect(byName.get("norm.weight")).toEqual([1024])
})
