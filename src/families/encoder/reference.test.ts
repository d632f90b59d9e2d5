// Proves referenceForward end to end: a 1-layer hidden-4 model whose outputs are worked out by
// hand, padding invariance, XLM-R position ids in a padded batch, prefixed weight names, the
// BGE heads, and clear errors for bad batches and weights.

import { describe, expect, test } from "bun:test"
import { inMemoryWeights, type InMemoryTensor, layerNorm, matrix, type ReferenceBatch, ReferenceForwardError, type Tensor64 } from "../../reference/index.ts"
import { SeededRandom } from "../../seeded/index.ts"
import { referenceForward } from "../reference-forward.ts"
import type { EncoderConfig } from "./config.ts"

type EncoderFamily = "bert" | "xlm-roberta"

const zeros = (n: number): number[] => new Array<number>(n).fill(0)
const ones = (n: number): number[] => new Array<number>(n).fill(1)
const identity = (n: number): number[] => Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0))

const tinyConfig = (family: EncoderFamily, overrides: Partial<EncoderConfig> = {}): EncoderConfig => ({
  family,
  hiddenSize: 4,
  numLayers: 1,
  numHeads: 2,
  intermediateSize: 2,
  vocabSize: 6,
  maxPositions: 8,
  maxInputLength: family === "bert" ? 8 : 6,
  typeVocabSize: family === "bert" ? 2 : 1,
  layerNormEps: 1e-12,
  padTokenId: family === "bert" ? 0 : 1,
  hiddenAct: "gelu",
  numLabels: 1,
  raw: {},
  ...overrides,
})

/**
 * The hand-checkable model: one-hot word embeddings (A = id 3 → e₀, B = id 4 → e₁), zero
 * positions and types, Q = K = 0 (uniform attention over real tokens), V and the attention
 * output projection the identity, and a feed-forward that outputs zero (GELU(0) = 0).
 * Each token's output is then LN(LN(e) + mean of LN(e) over real tokens).
 */
const handTensors = (config: EncoderConfig, prefix = ""): Record<string, InMemoryTensor> => {
  const H = config.hiddenSize
  const I = config.intermediateSize
  const wordRows = [
    [0, 0, 1, 0],
    [0, 0, 1, 0],
    [0, 0, 1, 0],
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 0, 1],
  ]
  const l = `${prefix}encoder.layer.0.`
  return {
    [`${prefix}embeddings.word_embeddings.weight`]: { shape: [config.vocabSize, H], values: wordRows.flat() },
    [`${prefix}embeddings.position_embeddings.weight`]: { shape: [config.maxPositions, H], values: zeros(config.maxPositions * H) },
    [`${prefix}embeddings.token_type_embeddings.weight`]: { shape: [config.typeVocabSize, H], values: zeros(config.typeVocabSize * H) },
    [`${prefix}embeddings.LayerNorm.weight`]: { shape: [H], values: ones(H) },
    [`${prefix}embeddings.LayerNorm.bias`]: { shape: [H], values: zeros(H) },
    [`${l}attention.self.query.weight`]: { shape: [H, H], values: zeros(H * H) },
    [`${l}attention.self.query.bias`]: { shape: [H], values: zeros(H) },
    [`${l}attention.self.key.weight`]: { shape: [H, H], values: zeros(H * H) },
    [`${l}attention.self.key.bias`]: { shape: [H], values: zeros(H) },
    [`${l}attention.self.value.weight`]: { shape: [H, H], values: identity(H) },
    [`${l}attention.self.value.bias`]: { shape: [H], values: zeros(H) },
    [`${l}attention.output.dense.weight`]: { shape: [H, H], values: identity(H) },
    [`${l}attention.output.dense.bias`]: { shape: [H], values: zeros(H) },
    [`${l}attention.output.LayerNorm.weight`]: { shape: [H], values: ones(H) },
    [`${l}attention.output.LayerNorm.bias`]: { shape: [H], values: zeros(H) },
    [`${l}intermediate.dense.weight`]: { shape: [I, H], values: zeros(I * H) },
    [`${l}intermediate.dense.bias`]: { shape: [I], values: zeros(I) },
    [`${l}output.dense.weight`]: { shape: [H, I], values: zeros(H * I) },
    [`${l}output.dense.bias`]: { shape: [H], values: zeros(H) },
    [`${l}output.LayerNorm.weight`]: { shape: [H], values: ones(H) },
    [`${l}output.LayerNorm.bias`]: { shape: [H], values: zeros(H) },
  }
}

// LN(e₀) = (e₀ − 1/4)/√(3/16) = [√3, −1/√3, −1/√3, −1/√3]; likewise for e₁. Their mean is
// [1/√3, 1/√3, −1/√3, −1/√3]; LN(e₀) + mean = [4/√3, 0, −2/√3, −2/√3], variance 2, mean 0,
// so the layer output for A is [4, 0, −2, −2]/√6 and for B [0, 4, −2, −2]/√6.
const r6 = Math.sqrt(6)
const handA = [4 / r6, 0, -2 / r6, -2 / r6]
const handB = [0, 4 / r6, -2 / r6, -2 / r6]

const row = (t: Tensor64, ...index: number[]): number[] => {
  const inner = t.shape.slice(index.length).reduce((a, b) => a * b, 1)
  let offset = 0
  index.forEach((i, axis) => {
    offset = offset * t.shape[axis]! + i
  })
  return [...t.data.slice(offset * inner, (offset + 1) * inner)]
}

const expectClose = (actual: readonly number[], expected: readonly number[], digits = 10) => {
  expect(actual.length).toBe(expected.length)
  actual.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, digits))
}

describe("hand-checkable 1-layer model", () => {
  for (const family of ["bert", "xlm-roberta"] as const) {
    const config = tinyConfig(family)
    const pad = config.padTokenId
    const weights = inMemoryWeights(handTensors(config))

    test(`${family}: last_hidden_state, CLS and mean pooling match the hand computation`, () => {
      const out = referenceForward(config, weights, {}, { inputIds: [[3, 4]], attentionMask: [[1, 1]] }, "embedding")
      expect(out.lastHiddenState.shape).toEqual([1, 2, 4])
      expectClose(row(out.lastHiddenState, 0, 0), handA)
      expectClose(row(out.lastHiddenState, 0, 1), handB)
      expectClose(row(out.dense, 0), [2 / r6, 0, -1 / r6, -1 / r6])
      expectClose(row(out.mean, 0), [0.5, 0.5, -0.5, -0.5])
    })

    test(`${family}: a padding token changes nothing for the real tokens`, () => {
      const out = referenceForward(config, weights, {}, { inputIds: [[3, 4, pad]], attentionMask: [[1, 1, 0]] }, "embedding")
      expectClose(row(out.lastHiddenState, 0, 0), handA)
      expectClose(row(out.lastHiddenState, 0, 1), handB)
      expectClose(row(out.mean, 0), [0.5, 0.5, -0.5, -0.5])
    })
  }

  test("xlm-roberta reranker: classifier.out_proj(tanh(classifier.dense(CLS)))", () => {
    const config = tinyConfig("xlm-roberta")
    const weights = inMemoryWeights({
      ...handTensors(config, "roberta."),
      "classifier.dense.weight": { shape: [4, 4], values: identity(4) },
      "classifier.dense.bias": { shape: [4], values: zeros(4) },
      "classifier.out_proj.weight": { shape: [1, 4], values: [1, -1, 0.5, 0] },
      "classifier.out_proj.bias": { shape: [1], values: [0.25] },
    })
    const out = referenceForward(config, weights, {}, { inputIds: [[3, 4]], attentionMask: [[1, 1]] }, "reranker")
    expect(out.logits?.shape).toEqual([1, 1])
    expect(out.logits!.data[0]).toBeCloseTo(Math.tanh(4 / r6) + 0.5 * Math.tanh(-2 / r6) + 0.25, 10)
  })

  test("bert reranker: classifier(tanh(pooler.dense(CLS)))", () => {
    const config = tinyConfig("bert")
    const weights = inMemoryWeights({
      ...handTensors(config, "bert."),
      "bert.pooler.dense.weight": { shape: [4, 4], values: identity(4) },
      "bert.pooler.dense.bias": { shape: [4], values: [0, 0, 0, 1] },
      "classifier.weight": { shape: [1, 4], values: [0, 0, 0, 2] },
      "classifier.bias": { shape: [1], values: [0] },
    })
    const out = referenceForward(config, weights, {}, { inputIds: [[3, 4]], attentionMask: [[1, 1]] }, "reranker")
    expect(out.logits!.data[0]).toBeCloseTo(2 * Math.tanh(-2 / r6 + 1), 10)
  })

  test("bge-m3 heads: sparse = relu(sparse_linear(h)), colbert = normalize(colbert_linear(h[1:]) · mask[1:])", () => {
    const config = tinyConfig("xlm-roberta")
    const weights = inMemoryWeights(handTensors(config))
    const sparseLinear = inMemoryWeights({ weight: { shape: [1, 4], values: [1, 0, 0, 0] }, bias: { shape: [1], values: [-0.5] } })
    const colbertLinear = inMemoryWeights({ weight: { shape: [4, 4], values: identity(4) }, bias: { shape: [4], values: zeros(4) } })
    const out = referenceForward(config, weights, { sparseLinear, colbertLinear }, { inputIds: [[3, 4, 1]], attentionMask: [[1, 1, 0]] }, "m3")
    expect(out.sparse?.shape).toEqual([1, 3])
    expect(out.sparse!.data[0]).toBeCloseTo(4 / r6 - 0.5, 10)
    expect(out.sparse!.data[1]).toBe(0)
    expect(out.colbert?.shape).toEqual([1, 2, 4])
    expectClose(row(out.colbert!, 0, 0), [0, 2 / r6, -1 / r6, -1 / r6])
    expectClose(row(out.colbert!, 0, 1), [0, 0, 0, 0], 15)
  })
})

/** A small model with seeded random weights, std 0.3 so layers mix tokens visibly. */
const randomTensors = (config: EncoderConfig, seed: number, prefix = ""): Record<string, InMemoryTensor> => {
  const random = new SeededRandom(seed, "reference-test")
  const normal = (n: number, mean = 0, std = 0.3) => Array.from({ length: n }, () => mean + std * random.normal())
  const H = config.hiddenSize
  const I = config.intermediateSize
  const tensors: Record<string, InMemoryTensor> = {
    [`${prefix}embeddings.word_embeddings.weight`]: { shape: [config.vocabSize, H], values: normal(config.vocabSize * H, 0, 1) },
    [`${prefix}embeddings.position_embeddings.weight`]: { shape: [config.maxPositions, H], values: normal(config.maxPositions * H, 0, 1) },
    [`${prefix}embeddings.token_type_embeddings.weight`]: { shape: [config.typeVocabSize, H], values: normal(config.typeVocabSize * H, 0, 1) },
    [`${prefix}embeddings.LayerNorm.weight`]: { shape: [H], values: normal(H, 1, 0.1) },
    [`${prefix}embeddings.LayerNorm.bias`]: { shape: [H], values: normal(H, 0, 0.1) },
  }
  for (let l = 0; l < config.numLayers; l++) {
    const p = `${prefix}encoder.layer.${l}.`
    const dense = (name: string, out: number, inp: number) => {
      tensors[`${p}${name}.weight`] = { shape: [out, inp], values: normal(out * inp) }
      tensors[`${p}${name}.bias`] = { shape: [out], values: normal(out, 0, 0.1) }
    }
    const norm = (name: string) => {
      tensors[`${p}${name}.weight`] = { shape: [H], values: normal(H, 1, 0.1) }
      tensors[`${p}${name}.bias`] = { shape: [H], values: normal(H, 0, 0.1) }
    }
    dense("attention.self.query", H, H)
    dense("attention.self.key", H, H)
    dense("attention.self.value", H, H)
    dense("attention.output.dense", H, H)
    norm("attention.output.LayerNorm")
    dense("intermediate.dense", I, H)
    dense("output.dense", H, I)
    norm("output.LayerNorm")
  }
  return tensors
}

const randomConfig = (family: EncoderFamily): EncoderConfig =>
  tinyConfig(family, { hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 16, vocabSize: 20, maxPositions: 16 })

describe("padding and positions", () => {
  test("bert: a right-padded row gives the unpadded row's outputs for its real tokens", () => {
    const config = randomConfig("bert")
    const weights = inMemoryWeights(randomTensors(config, 1))
    const alone = referenceForward(config, weights, {}, { inputIds: [[2, 5, 7, 9]], attentionMask: [[1, 1, 1, 1]] }, "embedding")
    const batch: ReferenceBatch = {
      inputIds: [[2, 5, 7, 9, 0, 0], [2, 11, 12, 13, 14, 9]],
      attentionMask: [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]],
    }
    const padded = referenceForward(config, weights, {}, batch, "embedding")
    for (let t = 0; t < 4; t++) expectClose(row(padded.lastHiddenState, 0, t), row(alone.lastHiddenState, 0, t), 12)
    expectClose(row(padded.dense, 0), row(alone.dense, 0), 12)
    expectClose(row(padded.mean, 0), row(alone.mean, 0), 12)
    // And the second row really is different (the check could fail).
    expect(Math.abs(row(padded.dense, 1)[0]! - row(padded.dense, 0)[0]!)).toBeGreaterThan(1e-3)
  })

  test("xlm-roberta: left padding keeps real-token positions at padding_idx + 1 + i, so outputs match; bert's shift", () => {
    const xlmr = randomConfig("xlm-roberta")
    const xlmrWeights = inMemoryWeights(randomTensors(xlmr, 2))
    const alone = referenceForward(xlmr, xlmrWeights, {}, { inputIds: [[0, 5, 7, 2]], attentionMask: [[1, 1, 1, 1]] }, "embedding")
    const leftPadded = referenceForward(xlmr, xlmrWeights, {}, { inputIds: [[1, 1, 0, 5, 7, 2]], attentionMask: [[0, 0, 1, 1, 1, 1]] }, "embedding")
    for (let t = 0; t < 4; t++) expectClose(row(leftPadded.lastHiddenState, 0, t + 2), row(alone.lastHiddenState, 0, t), 12)

    const bert = randomConfig("bert")
    const bertWeights = inMemoryWeights(randomTensors(bert, 2))
    const bertAlone = referenceForward(bert, bertWeights, {}, { inputIds: [[2, 5, 7, 3]], attentionMask: [[1, 1, 1, 1]] }, "embedding")
    const bertLeft = referenceForward(bert, bertWeights, {}, { inputIds: [[0, 0, 2, 5, 7, 3]], attentionMask: [[0, 0, 1, 1, 1, 1]] }, "embedding")
    expect(Math.abs(row(bertLeft.lastHiddenState, 0, 2)[0]! - row(bertAlone.lastHiddenState, 0, 0)[0]!)).toBeGreaterThan(1e-6)
  })

  test("xlm-roberta embeddings of a padded batch use positions pad+1+i for tokens and pad for pads", () => {
    const config = randomConfig("xlm-roberta")
    const tensors = randomTensors(config, 3)
    const weights = inMemoryWeights(tensors)
    const batch = { inputIds: [[0, 5, 2, 1, 1], [0, 5, 6, 7, 2]], attentionMask: [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]] }
    const expectedPositions = [[2, 3, 4, 1, 1], [2, 3, 4, 5, 6]]
    const out = referenceForward(config, weights, {}, batch, "embedding", { hiddenStates: true })
    expect(out.hiddenStates?.length).toBe(config.numLayers + 1)
    const table = (name: string) => tensors[`embeddings.${name}`]!.values
    const H = config.hiddenSize
    batch.inputIds.forEach((ids, b) =>
      ids.forEach((id, t) => {
        const position = expectedPositions[b]![t]!
        const sum = Float64Array.from({ length: H }, (_, c) =>
          Math.fround(table("word_embeddings.weight")[id * H + c]!) +
          Math.fround(table("position_embeddings.weight")[position * H + c]!) +
          Math.fround(table("token_type_embeddings.weight")[c]!),
        )
        const gamma = Float64Array.from(table("LayerNorm.weight"), Math.fround)
        const beta = Float64Array.from(table("LayerNorm.bias"), Math.fround)
        const expected = layerNorm(matrix(1, H, sum), gamma, beta, config.layerNormEps)
        expectClose(row(out.hiddenStates![0]!, b, t), [...expected.data], 12)
      }),
    )
    expectClose(row(out.hiddenStates![config.numLayers]!, 1, 2), row(out.lastHiddenState, 1, 2), 15)
  })

  test("token_type_ids default to zeros and, when given, select the type embedding", () => {
    const config = randomConfig("bert")
    const weights = inMemoryWeights(randomTensors(config, 4))
    const base = { inputIds: [[2, 5, 3, 6, 3]], attentionMask: [[1, 1, 1, 1, 1]] }
    const implicit = referenceForward(config, weights, {}, base, "embedding")
    const zerosGiven = referenceForward(config, weights, {}, { ...base, tokenTypeIds: [[0, 0, 0, 0, 0]] }, "embedding")
    const pair = referenceForward(config, weights, {}, { ...base, tokenTypeIds: [[0, 0, 0, 1, 1]] }, "embedding")
    expect([...zerosGiven.lastHiddenState.data]).toEqual([...implicit.lastHiddenState.data])
    expect(Math.abs(pair.dense.data[0]! - implicit.dense.data[0]!)).toBeGreaterThan(1e-6)
  })
})

describe("weight names", () => {
  for (const [family, prefix] of [["bert", "bert."], ["xlm-roberta", "roberta."]] as const) {
    test(`${family}: "${prefix}"-prefixed weights give exactly the unprefixed outputs`, () => {
      const config = randomConfig(family)
      const batch = { inputIds: [[2, 5, 7, 9]], attentionMask: [[1, 1, 1, 1]] }
      const plain = referenceForward(config, inMemoryWeights(randomTensors(config, 5)), {}, batch, "embedding")
      const prefixed = referenceForward(config, inMemoryWeights(randomTensors(config, 5, prefix)), {}, batch, "embedding")
      expect([...prefixed.lastHiddenState.data]).toEqual([...plain.lastHiddenState.data])
    })
  }

  test("a missing weight is named", () => {
    const config = randomConfig("bert")
    const tensors = randomTensors(config, 6)
    delete tensors["encoder.layer.1.output.dense.bias"]
    const run = () => referenceForward(config, inMemoryWeights(tensors), {}, { inputIds: [[2, 3]], attentionMask: [[1, 1]] }, "embedding")
    expect(run).toThrow(ReferenceForwardError)
    expect(run).toThrow(/"encoder\.layer\.1\.output\.dense\.bias"/)
  })

  test("a weight of the wrong shape is named with both shapes", () => {
    const config = randomConfig("xlm-roberta")
    const tensors = randomTensors(config, 7)
    tensors["encoder.layer.0.intermediate.dense.weight"] = { shape: [8, 16], values: zeros(128) }
    const run = () => referenceForward(config, inMemoryWeights(tensors), {}, { inputIds: [[0, 2]], attentionMask: [[1, 1]] }, "embedding")
    expect(run).toThrow(/intermediate\.dense\.weight" has shape \[8, 16\], expected \[16, 8\]/)
  })

  test("task m3 without the sparse head says where to put it", () => {
    const config = randomConfig("xlm-roberta")
    const run = () => referenceForward(config, inMemoryWeights(randomTensors(config, 8)), {}, { inputIds: [[0, 2]], attentionMask: [[1, 1]] }, "m3")
    expect(run).toThrow(/extras\.sparseLinear/)
  })
})

describe("bad batches", () => {
  const config = randomConfig("xlm-roberta")
  const weights = inMemoryWeights(randomTensors(config, 9))
  const cases: [string, ReferenceBatch, RegExp][] = [
    ["ragged rows", { inputIds: [[0, 5, 2], [0, 2]], attentionMask: [[1, 1, 1], [1, 1]] }, /inputIds\[1\] has 2 tokens, expected 3/],
    ["an id outside the vocabulary", { inputIds: [[0, 20, 2]], attentionMask: [[1, 1, 1]] }, /inputIds\[0\]\[1\] = 20 is outside the vocabulary \[0, 20\)/],
    ["a mask value other than 0/1", { inputIds: [[0, 5, 2]], attentionMask: [[1, 2, 1]] }, /attentionMask\[0\]\[1\] = 2/],
    ["a token type beyond type_vocab_size", { inputIds: [[0, 5]], attentionMask: [[1, 1]], tokenTypeIds: [[0, 1]] }, /type_vocab_size/],
    ["more tokens than positions", { inputIds: [zeros(15)], attentionMask: [ones(15)] }, /position id 16 but max_position_embeddings is 16/],
    ["mask rows missing", { inputIds: [[0, 2]], attentionMask: [] }, /attentionMask has 0 rows, expected 1/],
  ]
  for (const [what, batch, message] of cases) {
    test(`rejects ${what}`, () => {
      expect(() => referenceForward(config, weights, {}, batch, "embedding")).toThrow(message)
    })
  }
})
