// The exported graphs compute what Hugging Face computes: ONNX Runtime outputs of tiny BERT and
// XLM-R exports against the float64 reference forward, on padded batches, for every task, both
// attention forms, int32 inputs, fp16 weights, and static vs dynamic shapes.
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { exportEncoder } from "./export-encoder.ts"
import { floats, maxAbsDiff, openCheckpoint, paddedBatch, reference, runOnnx, scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("fidelity")
afterAll(cleanup)

const archs: readonly string[] = ["bert", "xlm-roberta"]

describe.each(archs)("%s", (arch) => {
  test("embedding: last_hidden_state within 1e-4 and the CLS embedding within 1e-5 of the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const out = join(dir, `${arch}-embedding`)
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: out, task: "embedding" })
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, 9)
    const outputs = await runOnnx(result.modelPath, batch)
    const expected = reference(checkpoint, batch, "embedding")
    checkpoint.close()
    expect(outputs.last_hidden_state!.dims).toEqual([3, 9, 32])
    expect(maxAbsDiff(floats(outputs.last_hidden_state), expected.lastHiddenState.data)).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(floats(outputs.sentence_embedding), expected.dense.data)).toBeLessThanOrEqual(1e-5)
  }, 30_000)

  test("embedding with mean pooling, int32 inputs and plain-ONNX attention matches the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const out = join(dir, `${arch}-embedding-mean`)
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: out, task: "embedding", pooling: "mean", int32Inputs: true, attention: "onnx" })
    expect(result.manifest.inputs.every((i) => i.dtype === "int32")).toBe(true)
    expect(result.manifest.pooling).toBe("mean")
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, 8, 9)
    const outputs = await runOnnx(result.modelPath, batch, "int32")
    const expected = reference(checkpoint, batch, "embedding")
    checkpoint.close()
    expect(maxAbsDiff(floats(outputs.last_hidden_state), expected.lastHiddenState.data)).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(floats(outputs.sentence_embedding), expected.mean.data)).toBeLessThanOrEqual(1e-5)
  }, 30_000)

  test("reranker: logits within 1e-4 of the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "reranker")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-reranker`), task: "reranker" })
    expect(result.manifest.outputs).toEqual([{ name: "logits", dtype: "float32", shape: ["batch", 1] }])
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, 10)
    const outputs = await runOnnx(result.modelPath, batch)
    const expected = reference(checkpoint, batch, "reranker")
    checkpoint.close()
    expect(outputs.logits!.dims).toEqual([3, 1])
    expect(maxAbsDiff(floats(outputs.logits), expected.logits!.data)).toBeLessThanOrEqual(1e-4)
  }, 30_000)

  test("fp16: float16 weights, outputs within 1e-2 of the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-fp16`), task: "embedding", dtype: "fp16" })
    expect(result.manifest.weights).toBe("fp16")
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, 9)
    const outputs = await runOnnx(result.modelPath, batch)
    const expected = reference(checkpoint, batch, "embedding")
    checkpoint.close()
    expect(outputs.last_hidden_state!.type).toBe("float32")
    expect(maxAbsDiff(floats(outputs.last_hidden_state), expected.lastHiddenState.data)).toBeLessThanOrEqual(1e-2)
    expect(maxAbsDiff(floats(outputs.sentence_embedding), expected.dense.data)).toBeLessThanOrEqual(1e-2)
  }, 30_000)

  test("a static [batch, seqlen] export equals the dynamic one on real positions and on the CLS embedding", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const dynamic = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-dyn`), task: "embedding" })
    const fixed = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-static`), task: "embedding", seqlen: 16 })
    expect(fixed.manifest.seqlen).toBe(16)
    expect(fixed.manifest.inputs[0]!.shape).toEqual(["batch", 16])
    const checkpoint = openCheckpoint(ckpt)
    const short = paddedBatch(checkpoint, 7)
    const long = paddedBatch(checkpoint, 16)
    // The same rows as `short`, padded further to 16.
    const pad = (rows: number[][], value: number) => rows.map((row) => [...row, ...Array(16 - row.length).fill(value)])
    const padId = arch === "bert" ? 0 : (checkpoint.config.raw.pad_token_id as number)
    checkpoint.close()
    expect(long.inputIds.length).toBe(3)
    const staticOut = await runOnnx(fixed.modelPath, { inputIds: pad(short.inputIds, padId), attentionMask: pad(short.attentionMask, 0), tokenTypeIds: pad(short.tokenTypeIds, 0) })
    const dynamicOut = await runOnnx(dynamic.modelPath, short)
    const H = 32
    const staticHidden = floats(staticOut.last_hidden_state)
    const dynamicHidden = floats(dynamicOut.last_hidden_state)
    let worst = 0
    short.attentionMask.forEach((mask, b) =>
      mask.forEach((m, t) => {
        if (m === 0) return
        for (let c = 0; c < H; c++) worst = Math.max(worst, Math.abs(staticHidden[(b * 16 + t) * H + c]! - dynamicHidden[(b * 7 + t) * H + c]!))
      }),
    )
    expect(worst).toBeLessThanOrEqual(1e-5)
    expect(maxAbsDiff(floats(staticOut.sentence_embedding), floats(dynamicOut.sentence_embedding))).toBeLessThanOrEqual(1e-6)
  }, 30_000)
})

describe("m3 (bge-m3 layout: pytorch_model.bin + sparse_linear.pt + colbert_linear.pt)", () => {
  test("dense, sparse and ColBERT outputs match the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "m3")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "m3"), task: "m3" })
    expect(result.manifest.outputs.map((o) => o.name)).toEqual(["dense_vecs", "sparse_vecs", "colbert_vecs"])
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, 11)
    const outputs = await runOnnx(result.modelPath, batch)
    const expected = reference(checkpoint, batch, "m3")
    checkpoint.close()
    expect(outputs.sparse_vecs!.dims).toEqual([3, 11])
    expect(outputs.colbert_vecs!.dims).toEqual([3, 10, 32])
    expect(maxAbsDiff(floats(outputs.dense_vecs), expected.dense.data)).toBeLessThanOrEqual(1e-5)
    expect(maxAbsDiff(floats(outputs.sparse_vecs), expected.sparse!.data)).toBeLessThanOrEqual(1e-4)
    expect(maxAbsDiff(floats(outputs.colbert_vecs), expected.colbert!.data)).toBeLessThanOrEqual(1e-5)
    // Padded ColBERT rows are exactly zero (masked before normalising), not NaN.
    const colbert = floats(outputs.colbert_vecs)
    expect(colbert.slice((2 * 10 + 5) * 32, (2 * 10 + 6) * 32).every((v) => v === 0)).toBe(true)
  }, 30_000)

  test("fp16 m3 stays within 1e-2 and has no NaN in padded ColBERT rows", async () => {
    const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "m3")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "m3-fp16"), task: "m3", dtype: "fp16", seqlen: 12 })
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, 12)
    const outputs = await runOnnx(result.modelPath, batch)
    const expected = reference(checkpoint, batch, "m3")
    checkpoint.close()
    expect(maxAbsDiff(floats(outputs.dense_vecs), expected.dense.data)).toBeLessThanOrEqual(1e-2)
    expect(maxAbsDiff(floats(outputs.sparse_vecs), expected.sparse!.data)).toBeLessThanOrEqual(1e-2)
    expect(maxAbsDiff(floats(outputs.colbert_vecs), expected.colbert!.data)).toBeLessThanOrEqual(1e-2)
  }, 30_000)
})

test("tokenTypeIds 'always' gives XLM-R a token_type_ids input; 'auto' leaves it out", async () => {
  const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "embedding")
  const auto = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "xlmr-auto"), task: "embedding" })
  const always = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "xlmr-always"), task: "embedding", tokenTypeIds: "always" })
  expect(auto.manifest.inputs.map((i) => i.name)).toEqual(["input_ids", "attention_mask"])
  expect(always.manifest.inputs.map((i) => i.name)).toEqual(["input_ids", "attention_mask", "token_type_ids"])
  const checkpoint = openCheckpoint(ckpt)
  const batch = paddedBatch(checkpoint, 6)
  checkpoint.close()
  const a = await runOnnx(auto.modelPath, batch)
  const b = await runOnnx(always.modelPath, batch)
  expect(maxAbsDiff(floats(a.last_hidden_state), floats(b.last_hidden_state))).toBeLessThanOrEqual(1e-5)
}, 30_000)
