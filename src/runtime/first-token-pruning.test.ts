// First-token pruning on real exports of seeded tiny checkpoints: the pruned graph gives the same
// CLS embeddings and reranker logits on a padded batch, its last FFN runs on one row, graphs the
// pattern does not fit are left alone with the reason, and a pruned compile deploys and embeds.
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import { exportEncoder } from "../export/index.ts"
import { type OnnxModel, opTypeCounts, readModel, writeModel } from "../onnx/index.ts"
import { synthesizeCheckpoint } from "../synth/index.ts"
import type { FloatTensor } from "../tensor/index.ts"
import { writeBundle } from "./bundle.ts"
import { Embedder } from "./embedder.ts"
import { RuntimeError } from "./errors.ts"
import { keepOutputs, pruneFirstToken, pruneForOutputs } from "./first-token-pruning.ts"
import { compileForCpu } from "./optimize.ts"
import { fixtureTexts, writeEncoderFixture } from "./testing/encoder-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-first-token-"))
afterAll(() => rm(root, { recursive: true, force: true }))

/** A tiny (2 layers, hidden 32, FFN 64) checkpoint exported by kiln; returns the model folder. */
const exported = async (name: string, arch: string, task: "embedding" | "reranker" | "m3", options: { pooling?: "cls" | "mean"; attention?: "contrib" | "onnx" } = {}): Promise<string> => {
  const checkpoint = join(root, `${name}-checkpoint`)
  await synthesizeCheckpoint({ arch, size: "tiny", task, seed: 21, out: checkpoint })
  return (await exportEncoder({ checkpointDir: checkpoint, outDir: join(root, name), task, ...options })).outDir
}
const graphOf = (dir: string) => readModel(join(dir, "onnx", "model.onnx"))

const bertCls = await exported("bert-cls", "bert", "embedding")
const xlmrReranker = await exported("xlmr-reranker", "xlm-roberta", "reranker")

/** Three rows padded to 11 tokens (11, 6 and 3 real), ids away from the special ones. */
const paddedFeeds = (session: ort.InferenceSession, padId: number): Record<string, ort.Tensor> => {
  const lengths = [11, 6, 3]
  const L = 11
  const ids = new BigInt64Array(lengths.length * L)
  const mask = new BigInt64Array(lengths.length * L)
  const types = new BigInt64Array(lengths.length * L)
  lengths.forEach((real, b) => {
    for (let t = 0; t < L; t++) {
      ids[b * L + t] = BigInt(t < real ? 20 + ((b * 131 + t * 37) % 900) : padId)
      mask[b * L + t] = t < real ? 1n : 0n
      types[b * L + t] = t >= real / 2 && t < real ? 1n : 0n
    }
  })
  const dims = [lengths.length, L]
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor("int64", ids, dims), attention_mask: new ort.Tensor("int64", mask, dims) }
  if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = new ort.Tensor("int64", types, dims)
  return feeds
}

let written = 0
/** Runs `model` (written to a scratch file) on the padded batch and returns the outputs asked for. */
const run = async (model: OnnxModel, outputs: readonly string[], padId: number, level: "disabled" | "all" = "disabled"): Promise<Record<string, ort.Tensor>> => {
  const path = join(root, "runs", `${written++}.onnx`)
  await writeModel(model, path, { externalData: "never" })
  const session = await ort.InferenceSession.create(path, { executionProviders: ["cpu"], intraOpNumThreads: 1, graphOptimizationLevel: level })
  try {
    return await session.run(paddedFeeds(session, padId), [...outputs])
  } finally {
    await session.release()
  }
}

const maxAbsDiff = (a: ort.Tensor, b: ort.Tensor): number => {
  expect(a.dims).toEqual(b.dims)
  const [x, y] = [a.data as Float32Array, b.data as Float32Array]
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!))
  return m
}

/** The model with the output of the MatMul reading `weight` as an extra graph output. */
const exposeMatMul = (model: OnnxModel, weight: string): { model: OnnxModel; value: string } => {
  const node = model.graph.nodes.find((n) => n.opType === "MatMul" && n.inputs[1] === weight)
  if (node === undefined) throw new Error(`no MatMul reads ${weight}`)
  const value = node.outputs[0]!
  return { model: { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, { name: value, dtype: "float32", dims: undefined }] } }, value }
}

describe("pruneForOutputs", () => {
  test("BERT CLS embedding: sentence_embedding equals the unpruned graph's on a padded batch", async () => {
    const model = await graphOf(bertCls)
    const result = pruneForOutputs(model, ["sentence_embedding"])
    expect(result.reason).toBeNull()
    expect(result.pruned).toBe(true)
    expect(result.outputs).toEqual(["sentence_embedding"])
    expect(result.dropped).toEqual(["last_hidden_state"])
    expect(result.model.graph.outputs.map((o) => o.name)).toEqual(["sentence_embedding"])
    for (const level of ["disabled", "all"] as const) {
      const [before, after] = [await run(model, ["sentence_embedding"], 0, level), await run(result.model, ["sentence_embedding"], 0, level)]
      expect(maxAbsDiff(before.sentence_embedding!, after.sentence_embedding!)).toBeLessThanOrEqual(1e-5)
      // Rows differ, so a broadcast of one row could not pass.
      const data = after.sentence_embedding!.data as Float32Array
      expect(Math.abs(data[0]! - data[32]!) + Math.abs(data[1]! - data[33]!)).toBeGreaterThan(1e-3)
    }
  }, 15_000)

  test("the last layer's attention becomes MultiHeadAttention and its FFN sees one row per sequence", async () => {
    const model = await graphOf(bertCls)
    const result = pruneForOutputs(model, ["sentence_embedding"])
    const [before, after] = [opTypeCounts(model), opTypeCounts(result.model)]
    expect(after["com.microsoft:Attention"]).toBe(before["com.microsoft:Attention"]! - 1)
    expect(after["com.microsoft:MultiHeadAttention"]).toBe(1)
    // Q, K and V are three MatMuls where Attention packed them; the rest of the layer keeps its ops.
    expect(after.MatMul).toBe(before.MatMul! + 3)
    expect(after.LayerNormalization).toBe(before.LayerNormalization)
    expect(result.rowNodes).toBeGreaterThan(15)
    const ffnIn = "encoder.layer.1.intermediate.dense.weight"
    const ffnOut = "encoder.layer.1.output.dense.weight"
    for (const weight of [ffnIn, ffnOut]) {
      const full = exposeMatMul(model, weight)
      const pruned = exposeMatMul(result.model, weight)
      const [a, b] = [(await run(full.model, [full.value], 0))[full.value]!, (await run(pruned.model, [pruned.value], 0))[pruned.value]!]
      expect(a.dims).toEqual([3, 11, weight === ffnIn ? 64 : 32])
      expect(b.dims).toEqual([3, 1, weight === ffnIn ? 64 : 32])
    }
    // The first layer is untouched: its FFN still sees every token.
    const first = exposeMatMul(result.model, "encoder.layer.0.intermediate.dense.weight")
    expect((await run(first.model, [first.value], 0))[first.value]!.dims).toEqual([3, 11, 64])
  }, 15_000)

  test("XLM-RoBERTa reranker: logits equal the unpruned graph's", async () => {
    const model = await graphOf(xlmrReranker)
    const result = pruneForOutputs(model, ["logits"])
    expect(result.reason).toBeNull()
    expect(result.dropped).toEqual([])
    expect(opTypeCounts(result.model)["com.microsoft:MultiHeadAttention"]).toBe(1)
    const [before, after] = [await run(model, ["logits"], 1), await run(result.model, ["logits"], 1)]
    expect(maxAbsDiff(before.logits!, after.logits!)).toBeLessThanOrEqual(1e-5)
    const logits = after.logits!.data as Float32Array
    expect(new Set(Array.from(logits, (v) => v.toFixed(5))).size).toBe(3)
  }, 15_000)

  test("bge-m3 with only dense_vecs kept is pruned; with sparse and ColBERT kept it is left alone, saying why", async () => {
    const model = await graphOf(await exported("xlmr-m3", "xlm-roberta", "m3"))
    const all = pruneFirstToken(model)
    expect(all.pruned).toBe(false)
    expect(all.model).toBe(model)
    expect(all.reason).toContain("need every token")
    expect(all.reason).toMatch(/MatMul|Slice/)
    const dense = pruneForOutputs(model, ["dense_vecs"])
    expect(dense.pruned).toBe(true)
    const [before, after] = [await run(model, ["dense_vecs"], 1), await run(dense.model, ["dense_vecs"], 1)]
    expect(maxAbsDiff(before.dense_vecs!, after.dense_vecs!)).toBeLessThanOrEqual(1e-5)
  }, 15_000)

  test("mean pooling is left alone: no first-token Gather", async () => {
    const model = await graphOf(await exported("bert-mean", "bert", "embedding", { pooling: "mean" }))
    const result = pruneForOutputs(model, ["sentence_embedding"])
    expect(result.pruned).toBe(false)
    expect(result.reason).toContain("not CLS pooling")
    // Dropping last_hidden_state still happened; only the pruning did not.
    expect(result.model.graph.outputs.map((o) => o.name)).toEqual(["sentence_embedding"])
    expect(opTypeCounts(result.model)).toEqual(opTypeCounts(model))
  }, 15_000)

  test("keeping last_hidden_state, plain ONNX attention or a quantized layer leaves the graph alone, saying why", async () => {
    const model = await graphOf(bertCls)
    const both = pruneFirstToken(model)
    expect(both.model).toBe(model)
    expect(both.reason).toContain("is itself a kept graph output")

    const plain = pruneForOutputs(await graphOf(await exported("bert-onnx-attention", "bert", "embedding", { attention: "onnx" })), ["sentence_embedding"])
    expect(plain.pruned).toBe(false)
    expect(plain.reason).toContain("no com.microsoft:Attention")

    const int8 = await writeEncoderFixture(join(root, "int8-fixture"), { task: "embedding", int8Ffn: true })
    const quantized = pruneForOutputs(await graphOf(int8.dir), ["sentence_embedding"])
    expect(quantized.pruned).toBe(false)
    expect(quantized.reason).toContain("MatMulInteger \"MatMulInteger_0\" in the last layer is not a row-wise op")
    expect(opTypeCounts(quantized.model)["com.microsoft:Attention"]).toBe(1)
  }, 15_000)

  test("an output the graph does not have is a clear error naming the graph's outputs", async () => {
    const model = await graphOf(bertCls)
    expect(() => keepOutputs(model, ["dense_vecs"])).toThrow(RuntimeError)
    expect(() => keepOutputs(model, ["dense_vecs"])).toThrow('outputs: "dense_vecs" is not a graph output; the graph has last_hidden_state, sentence_embedding')
    expect(() => keepOutputs(model, [])).toThrow("keep at least one")
    expect(keepOutputs(model, ["last_hidden_state", "sentence_embedding"]).model).toBe(model)
  })
})

describe("compileForCpu", () => {
  test("a pruned compile keeps its fusions, lists only the kept output and deploys; its embeddings equal the full compile's", async () => {
    const full = await compileForCpu(bertCls, join(root, "compiled-full"), { threads: 1 })
    const pruned = await compileForCpu(bertCls, join(root, "compiled-cls"), { threads: 1, outputs: ["sentence_embedding"] })
    expect(full.pruning).toMatchObject({ outputs: ["last_hidden_state", "sentence_embedding"], dropped: [], firstToken: false })
    expect(full.pruning.reason).toContain("is itself a kept graph output")
    expect(pruned.pruning).toEqual({ outputs: ["sentence_embedding"], dropped: ["last_hidden_state"], firstToken: true, reason: null })
    expect(pruned.manifest.outputs.map((o) => o.name)).toEqual(["sentence_embedding"])
    expect(pruned.fusedOps["com.microsoft:MultiHeadAttention"]).toBe(1)
    // The pruned layer's residual Adds still fuse with their LayerNorms (on [batch, 1, hidden]).
    expect(pruned.fusedOps["com.microsoft:SkipLayerNormalization"]).toBe(full.fusedOps["com.microsoft:SkipLayerNormalization"]!)
    const json = JSON.parse(readFileSync(join(pruned.outDir, "kiln.json"), "utf8"))
    expect(json.outputs.map((o: { name: string }) => o.name)).toEqual(["sentence_embedding"])
    expect(json.optimization.pruning.firstToken).toBe(true)

    const bundles = [await writeBundle(full.outDir, join(root, "bundle-full")), await writeBundle(pruned.outDir, join(root, "bundle-cls"))]
    expect(bundles[1]!.config.io.outputs).toEqual({ dense: "sentence_embedding" })
    const texts = fixtureTexts(12, 5)
    const dense: FloatTensor[] = []
    for (const bundle of bundles) {
      const embedder = await Embedder.load(bundle.dir, { threads: 1 })
      try {
        dense.push((await embedder.embed(texts, { batchSize: 5 })).dense)
      } finally {
        await embedder.close()
      }
    }
    expect(dense[1]!.shape).toEqual([texts.length, 32])
    let diff = 0
    dense[0]!.data.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - dense[1]!.data[i]!))))
    expect(diff).toBeLessThanOrEqual(1e-5)
  }, 20_000)

  test("a reranker is pruned without being asked: its logits read only the first token", async () => {
    const result = await compileForCpu(xlmrReranker, join(root, "compiled-reranker"), { threads: 1 })
    expect(result.pruning).toEqual({ outputs: ["logits"], dropped: [], firstToken: true, reason: null })
    expect(result.fusedOps["com.microsoft:MultiHeadAttention"]).toBe(1)
  }, 15_000)

  test("outputs on a mean-pooled model drops last_hidden_state and records why the layer was not pruned", async () => {
    const mean = await exported("bert-mean-compile", "bert", "embedding", { pooling: "mean" })
    const result = await compileForCpu(mean, join(root, "compiled-mean"), { threads: 1, outputs: ["sentence_embedding"] })
    expect(result.pruning?.firstToken).toBe(false)
    expect(result.pruning?.reason).toContain("not CLS pooling")
    expect(result.manifest.outputs.map((o) => o.name)).toEqual(["sentence_embedding"])
    expect(result.fusedOps["com.microsoft:MultiHeadAttention"]).toBeUndefined()
  }, 15_000)
})
