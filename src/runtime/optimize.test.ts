// compileForCpu and expectFusions: the fusions ORT 1.30 makes on the fixture encoder, the manifest
// it rewrites (engine, level, fused ops, host), and loud failures when attention, SkipLayerNorm
// or the int8 kernels are missing.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type ModelManifest, readModelManifest } from "../artifacts/index.ts"
import { writeBundle } from "./bundle.ts"
import { cpuFingerprint, hostMismatch } from "./cpu-fingerprint.ts"
import { Embedder } from "./embedder.ts"
import { RuntimeError } from "./errors.ts"
import { compileForCpu, expectFusions, fusedOpCounts, readOptimizationHost } from "./optimize.ts"
import { fixtureTexts, writeEncoderFixture } from "./testing/encoder-fixture.ts"
import { runtimeFailure as failure } from "./testing/runtime-failure.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-runtime-optimize-"))
afterAll(() => rm(root, { recursive: true, force: true }))


const manifestStub = (quantization: ModelManifest["quantization"] = null): ModelManifest => ({
  kiln: 1,
  task: "embedding",
  family: "bert",
  model: "onnx/model.onnx",
  externalData: null,
  opset: 17,
  inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
  outputs: [{ name: "sentence_embedding", dtype: "float32", shape: ["batch", 8] }],
  seqlen: null,
  maxLength: 64,
  hiddenSize: 8,
  pooling: "cls",
  normalized: true,
  weights: "fp32",
  quantization,
  optimization: null,
})

const fused = { "com.microsoft:Attention": 12, "com.microsoft:SkipLayerNormalization": 24, MatMul: 48 }

describe("expectFusions", () => {
  test("passes when attention and SkipLayerNormalization are present", () => {
    expectFusions({ input: { MatMul: 72, LayerNormalization: 25 }, optimized: fused }, manifestStub())
    expectFusions({ input: {}, optimized: { "com.microsoft:MultiHeadAttention": 1, "com.microsoft:SkipLayerNormalization": 1 } }, manifestStub())
  })

  test("a missing SkipLayerNormalization is named, with what is left", () => {
    const error = (() => {
      try {
        expectFusions({ input: {}, optimized: { "com.microsoft:Attention": 12, LayerNormalization: 25 } }, manifestStub())
      } catch (e) {
        return e as RuntimeError
      }
      throw new Error("expected a failure")
    })()
    expect(error).toBeInstanceOf(RuntimeError)
    expect(error.reason).toBe("missing-fusion")
    expect(error.message).toContain("SkipLayerNormalization")
    expect(error.message).toContain("25 LayerNormalization left")
    expect(error.message).not.toContain("attention:")
  })

  test("missing attention and SkipLayerNorm are both reported; allowMissing accepts them", () => {
    const counts = { input: {}, optimized: { MatMul: 72, Softmax: 12, LayerNormalization: 25 } }
    expect(() => expectFusions(counts, manifestStub())).toThrow(/attention: .*12 Softmax.*SkipLayerNormalization/)
    expectFusions(counts, manifestStub(), { allowMissing: ["attention", "skip-layer-norm"] })
  })

  test("quantize ops in the input require int8 kernels in the output", () => {
    const input = { DynamicQuantizeLinear: 72, MatMulInteger: 72 }
    expect(() => expectFusions({ input, optimized: { ...fused, MatMulInteger: 72 } }, manifestStub())).toThrow(/int8 MatMul kernels: the input graph has quantized ops/)
    expectFusions({ input, optimized: { ...fused, "com.microsoft:DynamicQuantizeMatMul": 72 } }, manifestStub())
    expectFusions({ input: { DequantizeLinear: 10 }, optimized: { ...fused, "com.microsoft:MatMulIntegerToFloat": 72 } }, manifestStub())
    expectFusions({ input: { QuantizeLinear: 10 }, optimized: { ...fused, QLinearMatMul: 72 } }, manifestStub())
  })

  test("MatMulInteger left unfused beside fused ones fails, naming how many", () => {
    const counts = { input: { MatMulInteger: 72 }, optimized: { ...fused, "com.microsoft:DynamicQuantizeMatMul": 70, MatMulInteger: 2 } }
    expect(() => expectFusions(counts, manifestStub())).toThrow("2 MatMulInteger of 72 in the input were left unfused")
  })

  test("an int8 scheme whose search kept every layer in float has nothing to fuse and passes", () => {
    expectFusions({ input: {}, optimized: fused }, manifestStub({ scheme: "static-int8", details: {} }))
    expectFusions({ input: {}, optimized: fused }, manifestStub({ scheme: "fp16", details: {} }))
  })

  test("quantized attention alone still requires int8 MatMul kernels", () => {
    expect(() => expectFusions({ input: { "com.microsoft:QAttention": 2 }, optimized: fused }, manifestStub({ scheme: "dynamic-int8", details: {} }))).toThrow(/int8 MatMul kernels/)
  })

  test("fusedOpCounts keeps contrib ops and whatever the optimiser made more of", () => {
    expect(fusedOpCounts({ input: { MatMul: 4, Add: 8, "com.microsoft:Attention": 1 }, optimized: { MatMul: 2, Gemm: 2, Add: 1, "com.microsoft:Attention": 1 } })).toEqual({
      Gemm: 2,
      "com.microsoft:Attention": 1,
    })
  })
})

describe("compileForCpu", () => {
  test("fuses the fixture encoder, copies the folder, records engine, level, fused ops and host; embeddings unchanged", async () => {
    const model = await writeEncoderFixture(join(root, "model"), { task: "embedding" })
    const result = await compileForCpu(model.dir, join(root, "compiled"), { level: "all", threads: 1 })
    expect(result.fusedOps["com.microsoft:Attention"]).toBe(1)
    expect(result.fusedOps["com.microsoft:SkipLayerNormalization"]).toBe(3)
    expect(result.counts.input.LayerNormalization).toBe(3)
    const manifest = readModelManifest(join(root, "compiled"))
    expect(manifest.optimization).toMatchObject({ engine: `onnxruntime-node ${cpuFingerprint().ort}`, level: "all", fusedOps: result.fusedOps, tiedTo: { ...cpuFingerprint(), features: [...cpuFingerprint().features] } })
    expect(readOptimizationHost(join(root, "compiled"))).toEqual(cpuFingerprint())
    for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "onnx/model.onnx"]) expect(existsSync(join(root, "compiled", file))).toBe(true)
    // The source folder is untouched.
    expect(readModelManifest(model.dir).optimization).toBeNull()

    await writeBundle(model.dir, join(root, "plain-bundle"))
    await writeBundle(join(root, "compiled"), join(root, "compiled-bundle"))
    const bundle = JSON.parse(readFileSync(join(root, "compiled-bundle", "runtime.json"), "utf8"))
    expect(bundle.sessionOptions.graphOptimizationLevel).toBe("disabled")
    expect(bundle.compiledFor).toEqual(cpuFingerprint())
    const [plain, compiled] = await Promise.all([Embedder.load(join(root, "plain-bundle"), { threads: 1 }), Embedder.load(join(root, "compiled-bundle"), { threads: 1 })])
    try {
      const texts = fixtureTexts(12)
      const [a, b] = [await plain.embed(texts, { batchSize: 4 }), await compiled.embed(texts, { batchSize: 4 })]
      for (let i = 0; i < a.dense.data.length; i++) expect(Math.abs((a.dense.data[i] as number) - (b.dense.data[i] as number))).toBeLessThan(1e-4)
    } finally {
      await Promise.all([plain.close(), compiled.close()])
    }
  }, 20_000)

  test("a graph without attention fails naming the attention fusion, and leaves no kiln.json behind", async () => {
    const model = await writeEncoderFixture(join(root, "no-attention"), { task: "embedding", attention: "none" })
    const error = await failure(() => compileForCpu(model.dir, join(root, "no-attention-out"), { threads: 1 }))
    expect(error.reason).toBe("missing-fusion")
    expect(error.message).toContain("com.microsoft:Attention")
    expect(existsSync(join(root, "no-attention-out", "kiln.json"))).toBe(false)
    // Accepted when the caller says so.
    await compileForCpu(model.dir, join(root, "no-attention-allowed"), { threads: 1, allowMissing: ["attention"] })
    expect(readModelManifest(join(root, "no-attention-allowed")).optimization?.level).toBe("all")
  }, 20_000)

  test("dynamic int8 MatMuls fuse into DynamicQuantizeMatMul; with both int8 fusions disabled compile fails naming them", async () => {
    const model = await writeEncoderFixture(join(root, "int8"), { task: "embedding", int8Ffn: true })
    const result = await compileForCpu(model.dir, join(root, "int8-out"), { threads: 1 })
    expect(result.fusedOps["com.microsoft:DynamicQuantizeMatMul"]).toBe(1)
    const error = await failure(() =>
      compileForCpu(model.dir, join(root, "int8-blocked"), { threads: 1, disabledOptimizers: ["DynamicQuantizeMatMulFusion", "MatMulIntegerToFloatFusion"] }),
    )
    expect(error.message).toContain("int8 MatMul kernels")
  }, 20_000)

  test("refuses an output folder inside the model folder", async () => {
    const model = await writeEncoderFixture(join(root, "nested"), { task: "embedding" })
    const error = await failure(() => compileForCpu(model.dir, join(model.dir, "compiled")))
    expect(error.reason).toBe("invalid-option")
  })
})

describe("host fingerprint", () => {
  const here = { ort: "1.30.0", cpu: "CPU A", features: ["avx2", "avx512_vnni", "avx512f"] }
  test("another ORT version or a missing feature is a mismatch; extra features are fine", () => {
    expect(hostMismatch(here, here)).toBeUndefined()
    expect(hostMismatch(here, { ...here, features: [...here.features, "amx_int8"] })).toBeUndefined()
    expect(hostMismatch(here, { ...here, ort: "1.31.0" })).toContain("onnxruntime-node 1.30.0")
    expect(hostMismatch(here, { ...here, cpu: "CPU B", features: ["avx2"] })).toContain("avx512_vnni, avx512f")
  })

  test("cpuFingerprint reports this ORT version", () => {
    expect(cpuFingerprint().ort).toBe("1.30.0")
  })
})
