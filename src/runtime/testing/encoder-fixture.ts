// Test fixture: a seeded one-layer BERT-style encoder written as a kiln model folder (kiln.json,
// config.json, synthetic tokenizer, onnx/model.onnx) with the exporter's I/O names, for every task,
// dynamic or static sequence length, so the runtime can be tested before the real exporter exists.
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { MANIFEST_FILE, type ModelManifest, type ModelTask, renderModelManifest } from "../../artifacts/index.ts"
import { GraphBuilder, writeModel } from "../../onnx/index.ts"
import { SeededRandom, writeSyntheticTokenizer, type SpecialTokenIds } from "../../synth/index.ts"

export interface EncoderFixtureOptions {
  readonly task: ModelTask
  /** Fixed sequence length (static export); omitted → dynamic sequence axis. */
  readonly seqlen?: number
  /** Fixed batch dimension (the accelerator's [1, L] export); omitted → dynamic. */
  readonly batch?: number
  /** "microsoft": com.microsoft:Attention as the exporter emits it; "none": no attention at all (a graph ORT cannot fuse). */
  readonly attention?: "microsoft" | "none"
  readonly inputDType?: "int64" | "int32"
  /** Quantize the first FFN MatMul as ORT's dynamic int8 quantizer does (DynamicQuantizeLinear → MatMulInteger → Cast → Mul). */
  readonly int8Ffn?: boolean
  readonly seed?: number
}

export interface EncoderFixture {
  readonly dir: string
  readonly manifest: ModelManifest
  readonly specialTokenIds: SpecialTokenIds
}

export const fixtureShape = { hidden: 16, heads: 2, ffn: 32, vocab: 400, maxLength: 64 } as const

/** Writes the fixture folder into `dir` (created). */
export const writeEncoderFixture = async (dir: string, options: EncoderFixtureOptions): Promise<EncoderFixture> => {
  const { hidden: H, heads, ffn: F, vocab: V, maxLength: P } = fixtureShape
  const seed = options.seed ?? 7
  const inputDType = options.inputDType ?? "int64"
  const batchDim: number | string = options.batch ?? "batch"
  const seqDim: number | string = options.seqlen ?? "sequence"
  const random = new SeededRandom(seed, "encoder-fixture")
  const weights = (count: number, std = 0.3): Float32Array => random.fillNormal(new Float32Array(count), 0, std)
  const ones = (count: number): Float32Array => new Float32Array(count).fill(1)

  const g = new GraphBuilder({ name: "encoder-fixture", opset: 17, opsets: { "com.microsoft": 1 } })
  const ids = g.input("input_ids", inputDType, [batchDim, seqDim])
  const mask = g.input("attention_mask", inputDType, [batchDim, seqDim])
  const types = g.input("token_type_ids", inputDType, [batchDim, seqDim])
  // Constants are shared by name, so helpers can ask for the same one twice.
  const scalar = (name: string, dtype: "int64" | "float32", value: number) =>
    g.has(name) ? name : g.initializer(name, dtype, [], dtype === "int64" ? new BigInt64Array([BigInt(value)]) : new Float32Array([value]))
  const vector = (name: string, values: readonly number[]) =>
    g.has(name) ? name : g.initializer(name, "int64", [values.length], new BigInt64Array(values.map(BigInt)))
  const layerNorm = (x: string, prefix: string) =>
    g.op("LayerNormalization", [x, g.initializer(`${prefix}.gamma`, "float32", [H], ones(H)), g.initializer(`${prefix}.beta`, "float32", [H], weights(H, 0.05))], {
      attrs: { axis: -1, epsilon: 1e-12 },
    })
  const linear = (x: string, prefix: string, inDim: number, outDim: number) =>
    g.op("Add", [g.op("MatMul", [x, g.initializer(`${prefix}.weight`, "float32", [inDim, outDim], weights(inDim * outDim, 1 / Math.sqrt(inDim)))]), g.initializer(`${prefix}.bias`, "float32", [outDim], weights(outDim, 0.05))])
  const int8Linear = (x: string, prefix: string, inDim: number, outDim: number) => {
    const w = weights(inDim * outDim, 1 / Math.sqrt(inDim))
    const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127
    const q = g.initializer(`${prefix}.weight_quantized`, "int8", [inDim, outDim], Int8Array.from(w, (v) => Math.round(v / scale)))
    const [xq, xScale, xZero] = g.node("DynamicQuantizeLinear", [x], { outputs: 3 })
    const product = g.op("MatMulInteger", [xq, q, xZero, g.initializer(`${prefix}.weight_zero_point`, "int8", [], new Int8Array([0]))])
    const scaled = g.op("Mul", [g.op("Cast", [product], { attrs: { to: 1 } }), g.op("Mul", [xScale, scalar(`${prefix}.weight_scale`, "float32", scale)])])
    return g.op("Add", [scaled, g.initializer(`${prefix}.bias`, "float32", [outDim], weights(outDim, 0.05))])
  }
  const l2Normalize = (x: string) => g.op("Div", [x, g.op("Max", [g.op("ReduceL2", [x], { attrs: { axes: [-1], keepdims: 1 } }), scalar("norm_eps", "float32", 1e-12)])])

  // Embeddings: word + position (sliced to the sequence length) + token type, then LayerNorm.
  const word = g.op("Gather", [g.initializer("embeddings.word", "float32", [V, H], weights(V * H, 0.5)), ids])
  const seqLength = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [ids]), scalar("one", "int64", 1)], { attrs: { axis: 0 } }), vector("axis0", [0])])
  const positions = g.op("Slice", [g.initializer("embeddings.position", "float32", [P, H], weights(P * H, 0.5)), vector("zero1", [0]), seqLength, vector("axes0", [0])])
  // Shape inference cannot tell the slice is `sequence` long; without this, ORT's SkipLayerNorm
  // fusion sees mismatched dims and refuses (as it would for a real export lacking the hint).
  g.valueInfo(positions, "float32", [seqDim, H])
  const typeEmb = g.op("Gather", [g.initializer("embeddings.type", "float32", [2, H], weights(2 * H, 0.5)), types])
  const embedded = layerNorm(g.op("Add", [g.op("Add", [word, positions]), typeEmb]), "embeddings.ln")

  // Self-attention through com.microsoft:Attention with the raw [batch, seq] mask.
  let attended = embedded
  if ((options.attention ?? "microsoft") === "microsoft") {
    const mask32 = inputDType === "int32" ? mask : g.op("Cast", [mask], { attrs: { to: 6 } })
    const qkv = g.initializer("attention.qkv.weight", "float32", [H, 3 * H], weights(H * 3 * H, 1 / Math.sqrt(H)))
    const qkvBias = g.initializer("attention.qkv.bias", "float32", [3 * H], weights(3 * H, 0.05))
    const context = g.op("Attention", [embedded, qkv, qkvBias, mask32], { domain: "com.microsoft", attrs: { num_heads: heads } })
    attended = linear(context, "attention.out", H, H)
  } else {
    // Keep mask and type ids in use so the inputs stay valid graph inputs.
    attended = g.op("Mul", [linear(embedded, "attention.out", H, H), g.op("Unsqueeze", [g.op("Cast", [mask], { attrs: { to: 1 } }), vector("axis_last", [-1])])])
  }
  const afterAttention = layerNorm(g.op("Add", [attended, embedded]), "attention.ln")
  // Feed-forward with erf-GELU, the pattern ORT fuses at level "all".
  const inner = options.int8Ffn ? int8Linear(afterAttention, "ffn.in", H, F) : linear(afterAttention, "ffn.in", H, F)
  const erf = g.op("Erf", [g.op("Div", [inner, scalar("sqrt2", "float32", Math.SQRT2)])])
  const gelu = g.op("Mul", [g.op("Mul", [inner, g.op("Add", [erf, scalar("one_f", "float32", 1)])]), scalar("half", "float32", 0.5)])
  const hiddenStates = layerNorm(g.op("Add", [linear(gelu, "ffn.out", F, H), afterAttention]), "ffn.ln")
  const cls = g.op("Gather", [hiddenStates, scalar("zero", "int64", 0)], { attrs: { axis: 1 } })

  const outputs: ModelManifest["outputs"] = []
  const output = (value: string, name: string, shape: (number | string)[]) => {
    g.output(g.op("Identity", [value], { output: name }), "float32", shape)
    outputs.push({ name, dtype: "float32", shape })
  }
  if (options.task === "embedding") {
    output(hiddenStates, "last_hidden_state", [batchDim, seqDim, H])
    output(l2Normalize(cls), "sentence_embedding", [batchDim, H])
  } else if (options.task === "reranker") {
    output(linear(cls, "classifier", H, 1), "logits", [batchDim, 1])
  } else {
    output(l2Normalize(cls), "dense_vecs", [batchDim, H])
    output(g.op("Squeeze", [g.op("Relu", [linear(hiddenStates, "sparse_linear", H, 1)]), vector("axis_2", [2])]), "sparse_vecs", [batchDim, seqDim])
    const tail = g.op("Slice", [hiddenStates, vector("one1", [1]), vector("big", [1 << 30]), vector("axes1", [1])])
    const maskTail = g.op("Slice", [mask, vector("one1", [1]), vector("big", [1 << 30]), vector("axes1", [1])])
    const masked = g.op("Mul", [linear(tail, "colbert_linear", H, H), g.op("Unsqueeze", [g.op("Cast", [maskTail], { attrs: { to: 1 } }), vector("axis_last", [-1])])])
    output(l2Normalize(masked), "colbert_vecs", [batchDim, typeof seqDim === "number" ? seqDim - 1 : "sequence_minus_1", H])
  }
  await writeModel(g.build(), join(dir, "onnx", "model.onnx"), { externalData: "never" })

  const tokenizer = await writeSyntheticTokenizer(dir, { kind: "wordpiece", vocabSize: V, seed, modelMaxLength: P })
  const config = { architectures: ["BertModel"], model_type: "bert", hidden_size: H, num_attention_heads: heads, num_hidden_layers: 1, intermediate_size: F, vocab_size: V, max_position_embeddings: P, type_vocab_size: 2, pad_token_id: tokenizer.specialTokenIds.pad }
  await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n")
  const manifest: ModelManifest = {
    kiln: 1,
    task: options.task,
    family: "bert",
    model: "onnx/model.onnx",
    externalData: null,
    opset: 17,
    inputs: [ids, mask, types].map((name) => ({ name, dtype: inputDType, shape: [batchDim, seqDim] })),
    outputs,
    seqlen: options.seqlen ?? null,
    maxLength: P,
    hiddenSize: H,
    pooling: options.task === "reranker" ? null : "cls",
    normalized: options.task !== "reranker",
    weights: options.int8Ffn ? "mixed" : "fp32",
    quantization: options.int8Ffn ? { scheme: "dynamic-int8", details: {} } : null,
    optimization: null,
  }
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, MANIFEST_FILE), renderModelManifest(manifest))
  return { dir, manifest, specialTokenIds: tokenizer.specialTokenIds }
}

/** Sentences of very different lengths over the synthetic vocabulary's frequent words. */
export const fixtureTexts = (count: number, seed = 3): string[] => {
  const random = new SeededRandom(seed, "fixture-texts")
  const words = ["the", "model", "of", "a", "quick", "brown", "fox", "runs", "over", "lazy", "dog", "and", "text", "score"]
  return Array.from({ length: count }, (_, i) => {
    const length = i % 5 === 0 ? 40 + random.int(20) : 1 + random.int(12)
    return Array.from({ length }, () => random.pick(words)).join(" ")
  })
}
