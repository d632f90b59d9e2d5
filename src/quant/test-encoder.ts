// A small BERT-shaped encoder built with GraphBuilder for the quantization tests, in the patterns the
// exporter emits: Gather embeddings, LayerNormalization, com.microsoft:Attention with packed QKV (or
// separate Q/K/V MatMuls and score MatMuls), MatMul with [in, out] weights + Add bias, Gelu, CLS
// pooling. Names follow Hugging Face parameter names so layer indices can be read off them.

import { GraphBuilder, type OnnxModel } from "../onnx/index.ts"
import { gaussian, seededRandom } from "./test-random.ts"

export interface TestEncoderOptions {
  readonly layers?: number
  readonly hidden?: number
  readonly heads?: number
  readonly ffn?: number
  readonly vocab?: number
  readonly maxPositions?: number
  /** "fused": com.microsoft:Attention with packed QKV; "unfused": Q/K/V MatMuls, score MatMuls, Softmax. */
  readonly attention?: "fused" | "unfused"
  /** Fixed [1, seqlen] inputs instead of ["batch", "sequence"]. */
  readonly seqlen?: number
  /** Plant large-magnitude hidden channels in the LayerNorms, like real BERT outlier features. */
  readonly outliers?: boolean
  readonly seed?: number
}

export interface TestEncoder {
  readonly model: OnnxModel
  readonly hidden: number
  readonly layers: number
  readonly vocab: number
  readonly outlierChannels: readonly number[]
}

export const buildTestEncoder = (options: TestEncoderOptions = {}): TestEncoder => {
  const L = options.layers ?? 2
  const H = options.hidden ?? 32
  const heads = options.heads ?? 4
  const F = options.ffn ?? 4 * H
  const V = options.vocab ?? 100
  const P = options.maxPositions ?? 64
  const attention = options.attention ?? "fused"
  const random = seededRandom(options.seed ?? 7)
  const normal = gaussian(random)
  const randn = (n: number, std: number) => Float32Array.from({ length: n }, () => normal() * std)
  const outlierChannels = options.outliers ? [3 % H, 17 % H] : []

  const g = new GraphBuilder({ name: "test-encoder", opset: 17, opsets: { "com.microsoft": 1 } })
  const dims = options.seqlen === undefined ? ["batch", "sequence"] : [1, options.seqlen]
  const ids = g.input("input_ids", "int64", dims)
  const mask = g.input("attention_mask", "int64", dims)
  const types = g.input("token_type_ids", "int64", dims)
  const int64 = (name: string, values: number[], shape: number[] = [values.length]) => g.initializer(name, "int64", shape, values)

  const layerNorm = (prefix: string, x: string, plantOutliers = true): string => {
    const gamma = new Float32Array(H).fill(1)
    const beta = new Float32Array(H)
    // Outlier channels: a big gain and offset make LayerNorm outputs carry values tens of times larger.
    for (const c of plantOutliers ? outlierChannels : []) {
      gamma[c] = 12
      beta[c] = 6
    }
    const scale = g.initializer(`${prefix}.weight`, "float32", [H], gamma)
    const bias = g.initializer(`${prefix}.bias`, "float32", [H], beta)
    return g.op("LayerNormalization", [x, scale, bias], { attrs: { axis: -1, epsilon: 1e-12 }, name: `/${prefix.replaceAll(".", "/")}/LayerNormalization` })
  }
  const linear = (prefix: string, x: string, inF: number, outF: number): string => {
    const w = g.initializer(`${prefix}.weight`, "float32", [inF, outF], randn(inF * outF, 1 / Math.sqrt(inF)))
    const b = g.initializer(`${prefix}.bias`, "float32", [outF], randn(outF, 0.02))
    const path = `/${prefix.replaceAll(".", "/")}`
    return g.op("Add", [g.op("MatMul", [x, w], { name: `${path}/MatMul` }), b], { name: `${path}/Add` })
  }

  // Embeddings: word + position (0…S-1) + token type, then LayerNorm.
  const wordTable = g.initializer("embeddings.word_embeddings.weight", "float32", [V, H], randn(V * H, 0.5))
  const positionTable = g.initializer("embeddings.position_embeddings.weight", "float32", [P, H], randn(P * H, 0.1))
  const typeTable = g.initializer("embeddings.token_type_embeddings.weight", "float32", [2, H], randn(2 * H, 0.1))
  const word = g.op("Gather", [wordTable, ids], { name: "/embeddings/word_embeddings/Gather" })
  const seq = g.op("Gather", [g.op("Shape", [ids]), int64("const.one", [1], [])], { attrs: { axis: 0 } })
  const positions = g.op("Range", [int64("const.zero", [0], []), seq, int64("const.step", [1], [])])
  const position = g.op("Gather", [positionTable, positions], { name: "/embeddings/position_embeddings/Gather" })
  const type = g.op("Gather", [typeTable, types], { name: "/embeddings/token_type_embeddings/Gather" })
  let h = layerNorm("embeddings.LayerNorm", g.op("Add", [g.op("Add", [word, position]), type]))

  const mask32 = g.op("Cast", [mask], { attrs: { to: 6 } })
  // Additive mask for the unfused form: 0 for tokens, -10000 for padding, as [batch, 1, 1, seq].
  const maskBias =
    attention === "unfused"
      ? g.op("Unsqueeze", [
          g.op("Mul", [
            g.op("Sub", [g.initializer("const.f_one", "float32", [], [1]), g.op("Cast", [mask], { attrs: { to: 1 } })]),
            g.initializer("const.neg", "float32", [], [-10000]),
          ]),
          int64("const.axes12", [1, 2]),
        ])
      : ""
  const headDim = H / heads

  for (let l = 0; l < L; l++) {
    const p = `encoder.layer.${l}`
    let context: string
    if (attention === "fused") {
      const qkvW = g.initializer(`${p}.attention.self.qkv.weight`, "float32", [H, 3 * H], randn(H * 3 * H, 1 / Math.sqrt(H)))
      const qkvB = g.initializer(`${p}.attention.self.qkv.bias`, "float32", [3 * H], randn(3 * H, 0.02))
      context = g.op("Attention", [h, qkvW, qkvB, mask32], { domain: "com.microsoft", attrs: { num_heads: heads }, name: `/encoder/layer.${l}/attention/self/Attention` })
    } else {
      const split = (x: string) =>
        g.op("Transpose", [g.op("Reshape", [x, int64(`${p}.shape.heads`.concat(x), [0, 0, heads, headDim])])], { attrs: { perm: [0, 2, 1, 3] } })
      const q = split(linear(`${p}.attention.self.query`, h, H, H))
      const k = split(linear(`${p}.attention.self.key`, h, H, H))
      const v = split(linear(`${p}.attention.self.value`, h, H, H))
      const kT = g.op("Transpose", [k], { attrs: { perm: [0, 1, 3, 2] } })
      const scores = g.op("Mul", [g.op("MatMul", [q, kT], { name: `/encoder/layer.${l}/attention/self/MatMul_scores` }), g.initializer(`${p}.scale`, "float32", [], [1 / Math.sqrt(headDim)])])
      const probs = g.op("Softmax", [g.op("Add", [scores, maskBias])], { attrs: { axis: -1 }, name: `/encoder/layer.${l}/attention/self/Softmax` })
      const ctx = g.op("MatMul", [probs, v], { name: `/encoder/layer.${l}/attention/self/MatMul_context` })
      context = g.op("Reshape", [g.op("Transpose", [ctx], { attrs: { perm: [0, 2, 1, 3] } }), int64(`${p}.shape.merge`, [0, 0, H])])
    }
    const attended = layerNorm(`${p}.attention.output.LayerNorm`, g.op("Add", [linear(`${p}.attention.output.dense`, context, H, H), h]))
    const inner = g.op("Gelu", [linear(`${p}.intermediate.dense`, attended, H, F)], { domain: "com.microsoft", name: `/encoder/layer.${l}/intermediate/Gelu` })
    // The last LayerNorm carries no outliers, as in real models, so embeddings are not one channel.
    h = layerNorm(`${p}.output.LayerNorm`, g.op("Add", [linear(`${p}.output.dense`, inner, F, H), attended]), l < L - 1)
  }

  g.output(g.op("Identity", [h], { output: "last_hidden_state" }), "float32", [...dims, H])
  const cls = g.op("Gather", [h, int64("const.cls", [0], [])], { attrs: { axis: 1 } })
  g.output(g.op("LpNormalization", [cls], { attrs: { axis: -1, p: 2 }, output: "sentence_embedding" }), "float32", [dims[0]!, H])
  return { model: g.build(), hidden: H, layers: L, vocab: V, outlierChannels }
}

/** Seeded token batches for the test encoder: CLS=1 … SEP=2 then padding 0, int64 for ORT. */
export const testEncoderFeeds = (options: { vocab: number; batch: number; seq: number; seed?: number; padded?: boolean }) => {
  const random = seededRandom(options.seed ?? 11)
  const n = options.batch * options.seq
  const ids = new BigInt64Array(n)
  const mask = new BigInt64Array(n)
  const types = new BigInt64Array(n)
  for (let b = 0; b < options.batch; b++) {
    const length = options.padded === false ? options.seq : Math.max(3, options.seq - Math.floor(random() * (options.seq / 2)))
    for (let s = 0; s < options.seq; s++) {
      const i = b * options.seq + s
      const real = s < length
      ids[i] = BigInt(!real ? 0 : s === 0 ? 1 : s === length - 1 ? 2 : 3 + Math.floor(random() * (options.vocab - 3)))
      mask[i] = real ? 1n : 0n
    }
  }
  return { input_ids: ids, attention_mask: mask, token_type_ids: types, dims: [options.batch, options.seq] as const }
}

/** Seeded token rows (CLS=1 … SEP=2, 4 to 15 tokens) for calibration sets of the test encoder. */
export const testTokenRows = (count: number, vocab: number, seed = 5): { ids: number[] }[] => {
  const random = seededRandom(seed)
  return Array.from({ length: count }, () => {
    const n = 4 + Math.floor(random() * 12)
    return { ids: [1, ...Array.from({ length: n - 2 }, () => 3 + Math.floor(random() * (vocab - 3))), 2] }
  })
}
