// The dynamic export folder is a valid transformers.js model: it loads offline from its local path
// and the feature-extraction pipeline (CLS pooling, normalised) returns our sentence_embedding.
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { AutoTokenizer, env, pipeline } from "@huggingface/transformers"
import { exportEncoder } from "./export-encoder.ts"
import { floats, runOnnx, scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("transformers-js")
afterAll(cleanup)

const sentences = ["the quick brown fox jumps over the lazy dog", "a short one", "rerankers score 42 passages, embeddings find them quickly!"]

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

describe.each(["bert", "xlm-roberta"] as readonly string[])("%s", (arch) => {
  test("feature-extraction with pooling cls + normalize gives our embeddings (cosine ≥ 0.99999)", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const name = `${arch}-model`
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, name), task: "embedding" })
    env.allowRemoteModels = false
    env.allowLocalModels = true
    env.localModelPath = `${dir}/`
    const extractor = await pipeline("feature-extraction", name, { dtype: "fp32", device: "cpu" })
    try {
      const theirs = await extractor(sentences, { pooling: "cls", normalize: true })
      expect(theirs.dims).toEqual([3, 32])
      // Our own run on the same (dynamically padded) token ids.
      const tokenizer = await AutoTokenizer.from_pretrained(name)
      const encoded = tokenizer(sentences, { padding: true })
      const rows = (t: { tolist(): unknown }) => (t.tolist() as bigint[][]).map((row) => row.map(Number))
      const inputIds = rows(encoded.input_ids)
      const batch = {
        inputIds,
        attentionMask: rows(encoded.attention_mask),
        tokenTypeIds: encoded.token_type_ids ? rows(encoded.token_type_ids) : inputIds.map((row) => row.map(() => 0)),
      }
      expect(batch.attentionMask.some((row) => row.includes(0))).toBe(true) // padding really happened
      const ours = floats((await runOnnx(result.modelPath, batch)).sentence_embedding)
      const data = theirs.data as Float32Array
      for (let b = 0; b < sentences.length; b++) {
        expect(cosine(data.slice(b * 32, (b + 1) * 32), ours.slice(b * 32, (b + 1) * 32))).toBeGreaterThanOrEqual(0.99999)
      }
    } finally {
      await extractor.dispose()
    }
  }, 30_000)
})

test("an fp16 export loads as transformers.js dtype fp16 (onnx/model_fp16.onnx) and agrees with fp32", async () => {
  const ckpt = await tinyCheckpoint(dir, "bert", "embedding")
  await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "both"), task: "embedding" })
  const half = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "both"), task: "embedding", dtype: "fp16" })
  expect(half.manifest.model).toBe("onnx/model_fp16.onnx")
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.localModelPath = `${dir}/`
  const full = await pipeline("feature-extraction", "both", { dtype: "fp32", device: "cpu" })
  const fp16 = await pipeline("feature-extraction", "both", { dtype: "fp16", device: "cpu" })
  try {
    const a = (await full(sentences, { pooling: "cls", normalize: true })).data as Float32Array
    const b = (await fp16(sentences, { pooling: "cls", normalize: true })).data as Float32Array
    for (let i = 0; i < sentences.length; i++) expect(cosine(a.slice(i * 32, (i + 1) * 32), b.slice(i * 32, (i + 1) * 32))).toBeGreaterThanOrEqual(0.999)
  } finally {
    await full.dispose()
    await fp16.dispose()
  }
}, 30_000)
