// Seeded weights for a synthetic BERT-style encoder (BERT, XLM-R), as lazily evaluated tensor sources with
// Hugging Face names. The scheme keeps activations trained-model-like through 24 layers, makes
// different sentences embed differently, and can plant large-magnitude "outlier" channels.

import type { TensorSource, WritableDType } from "../../checkpoint/index.ts"
import { normalTable, SeededRandom } from "../../seeded/index.ts"
import type { OutlierChannel } from "../family.ts"
import type { EncoderShape } from "./shapes.ts"
import type { EncoderSynthVariant } from "./variant.ts"

/** Which heads the checkpoint carries. */
export type WeightLayout = "base" | "sequence-classification" | "m3"

export interface WeightPlan {
  readonly variant: EncoderSynthVariant
  readonly shape: EncoderShape
  readonly padTokenId: number
  readonly layout: WeightLayout
  readonly outliers: boolean
  readonly seed: number
  readonly dtype: WritableDType
}

export interface SyntheticWeights {
  /** model.safetensors / pytorch_model.bin, in Hugging Face state-dict order. */
  readonly main: readonly TensorSource[]
  /** bge-m3 sparse_linear.pt (`weight` [1, H], `bias` [1]). */
  readonly sparseLinear?: readonly TensorSource[]
  /** bge-m3 colbert_linear.pt (`weight` [H, H], `bias` [H]). */
  readonly colbertLinear?: readonly TensorSource[]
  readonly outlierChannels: readonly OutlierChannel[]
}

// Gains are relative to 1/√fan_in, so behaviour does not depend on the width (HF's fixed
// std 0.02 is ≈ 0.64/√1024 for large models but makes a 32-wide model nearly the identity).
// Q·K gains of 1.6 give attention logits of std ≈ 2.5: peaked, not uniform, like a trained model.
// Value and attention-output gains shrink with depth (0.94 for 2 layers, 0.6 for 12, 0.5 for
// 24): at 1 the tokens of a 12-layer model collapse onto one vector, at 0.6 a 2-layer model
// barely mixes them into [CLS]. Tuned with the reference forward (see checkpoint.test.ts):
// token cosines ≈ 0.5–0.8, sentence cosines ≈ 0.5–0.95.
const queryKeyGain = 1.6
const attentionMixGain = (numLayers: number): number => Math.min(1, 0.6 * (12 / numLayers) ** 0.25)
const projectionGain = 1
const headGain = 1
const rerankerOutGain = 4
const sparseGain = 0.4
const biasStd = 0.02
const layerNormGammaJitter = 0.05
const wordEmbeddingStd = 0.05
const positionEmbeddingStd = 0.02
const typeEmbeddingStd = 0.01

/** Picks 2 (tiny widths) to 4 channels with magnitudes in [20, 60) and random signs. */
export const pickOutlierChannels = (hiddenSize: number, seed: number): OutlierChannel[] => {
  const random = new SeededRandom(seed, "outlier-channels")
  const count = hiddenSize < 128 ? 2 : hiddenSize < 768 ? 3 : 4
  const channels: OutlierChannel[] = []
  const used = new Set<number>()
  while (channels.length < count) {
    const index = random.int(hiddenSize)
    if (used.has(index)) continue
    used.add(index)
    channels.push({ index, magnitude: 20 + 40 * random.uniform(), sign: random.uniform() < 0.5 ? -1 : 1 })
  }
  return channels.sort((a, b) => a.index - b.index)
}

const withoutHeadPrefix = (tensor: TensorSource): TensorSource => ({ ...tensor, name: tensor.name.slice(tensor.name.indexOf(".") + 1) })

/**
 * σ of a LayerNorm input whose residual stream carries the outlier channels, found as a fixed
 * point: an outlier channel holds x = M + x/σ (β plus γ·z with γ = 1) and gets ±M/3 of
 * per-token writes; ordinary channels have rms ≈ 1.1 (LayerNorm output plus a sublayer's).
 * Dividing by it, the ordinary channels' γ keeps them at unit scale. Erring high is safe (the
 * normalisation then caps them near σ); erring low would shrink them layer after layer.
 */
const outlierLayerNormScale = (hiddenSize: number, channels: readonly OutlierChannel[]): number => {
  if (channels.length === 0) return 1
  const ordinaryRms = 1.1
  const ordinary = (hiddenSize - channels.length) * ordinaryRms ** 2
  let sigma = 1
  let values = channels.map((c) => c.magnitude)
  for (let i = 0; i < 100; i++) {
    values = channels.map((c, j) => c.magnitude + values[j]! / sigma)
    const outlierEnergy = channels.reduce((sum, c, j) => sum + values[j]! ** 2 + (c.magnitude / 3) ** 2, 0)
    sigma = Math.sqrt((ordinary + outlierEnergy) / hiddenSize)
  }
  return sigma / ordinaryRms
}

export const synthesizeWeights = (plan: WeightPlan): SyntheticWeights => {
  const { shape, seed, dtype } = plan
  const H = shape.hiddenSize
  const outlierChannels = plan.outliers ? pickOutlierChannels(H, seed) : []
  // A residual stream carrying channels of size M inflates LayerNorm's σ to ≈ √(1 + ΣM²/H);
  // gammas of the ordinary channels undo that, as a trained model learns to, so those channels stay O(1).
  const valueGain = attentionMixGain(shape.numLayers)
  const attentionOutGain = valueGain
  const layerNormScale = outlierLayerNormScale(H, outlierChannels)
  const paddingRow = plan.variant.zeroPaddingRows ? plan.padTokenId : undefined

  const source = (name: string, tensorShape: readonly number[], fill: (random: SeededRandom, out: Float32Array) => void): TensorSource => ({
    name,
    dtype,
    shape: tensorShape,
    values: () => {
      const out = new Float32Array(tensorShape.reduce((a, b) => a * b, 1))
      fill(new SeededRandom(seed, name), out)
      return out
    },
  })

  /** Linear weight [out, in] with std gain/√in; columns reading outlier channels scaled by 1/M, rows writing them by `writeScale`. */
  const linearWeight = (
    name: string,
    out: number,
    inp: number,
    gain: number,
    { readsHidden = true, writesHidden = false } = {},
  ): TensorSource =>
    source(name, [out, inp], (random, values) => {
      random.fillNormal(values, 0, gain / Math.sqrt(inp))
      if (readsHidden && inp === H) {
        for (const channel of outlierChannels) for (let o = 0; o < out; o++) values[o * inp + channel.index]! /= channel.magnitude
      }
      if (writesHidden && out === H) {
        // A sublayer writes ±M/3 into an outlier channel: per-token spread around the ±M the LayerNorms hold.
        for (const channel of outlierChannels) {
          const row = values.subarray(channel.index * inp, (channel.index + 1) * inp)
          for (let i = 0; i < inp; i++) row[i] = row[i]! * (channel.magnitude / 3)
        }
      }
    })
  const bias = (name: string, size: number, std = biasStd): TensorSource => source(name, [size], (random, values) => random.fillNormal(values, 0, std))
  // LayerNorms hold the outlier channels at ±M through β. The very last one brings them back to
  // ordinary scale: pooled embeddings dominated by a constant direction would make every
  // fidelity metric blind to quantization error.
  const layerNormGamma = (name: string, scale: number, last = false): TensorSource =>
    source(name, [H], (random, values) => {
      random.fillNormal(values, scale, scale * layerNormGammaJitter)
      for (const channel of outlierChannels) {
        values[channel.index] = (last ? layerNormScale / channel.magnitude : 1) * (1 + layerNormGammaJitter * random.normal())
      }
    })
  const layerNormBeta = (name: string, last = false): TensorSource =>
    source(name, [H], (random, values) => {
      random.fillNormal(values, 0, biasStd)
      if (!last) for (const channel of outlierChannels) values[channel.index] = channel.sign * channel.magnitude
    })

  // Names below are the base model's; the classifier prefix is added at the end so a reranker's
  // body gets the same values as the embedding model with the same seed.
  const body: TensorSource[] = [
    // nn.Embedding(padding_idx) rows start at zero and never get a gradient.
    normalTable({ name: `embeddings.word_embeddings.weight`, dtype, seed, rows: shape.vocabSize, cols: H, std: wordEmbeddingStd, zeroRow: paddingRow }),
    normalTable({ name: `embeddings.position_embeddings.weight`, dtype, seed, rows: shape.maxPositions, cols: H, std: positionEmbeddingStd, zeroRow: paddingRow }),
    source(`embeddings.token_type_embeddings.weight`, [shape.typeVocabSize, H], (random, values) =>
      random.fillNormal(values, 0, typeEmbeddingStd),
    ),
    // The embedding sum has no outliers yet, so this LayerNorm needs no compensation.
    layerNormGamma(`embeddings.LayerNorm.weight`, 1),
    layerNormBeta(`embeddings.LayerNorm.bias`),
  ]
  for (let l = 0; l < shape.numLayers; l++) {
    const p = `encoder.layer.${l}.`
    body.push(
      linearWeight(`${p}attention.self.query.weight`, H, H, queryKeyGain),
      bias(`${p}attention.self.query.bias`, H),
      linearWeight(`${p}attention.self.key.weight`, H, H, queryKeyGain),
      bias(`${p}attention.self.key.bias`, H),
      linearWeight(`${p}attention.self.value.weight`, H, H, valueGain),
      bias(`${p}attention.self.value.bias`, H),
      linearWeight(`${p}attention.output.dense.weight`, H, H, attentionOutGain, { readsHidden: false, writesHidden: true }),
      bias(`${p}attention.output.dense.bias`, H),
      layerNormGamma(`${p}attention.output.LayerNorm.weight`, layerNormScale),
      layerNormBeta(`${p}attention.output.LayerNorm.bias`),
      linearWeight(`${p}intermediate.dense.weight`, shape.intermediateSize, H, projectionGain),
      bias(`${p}intermediate.dense.bias`, shape.intermediateSize),
      linearWeight(`${p}output.dense.weight`, H, shape.intermediateSize, projectionGain, { writesHidden: true }),
      bias(`${p}output.dense.bias`, H),
      layerNormGamma(`${p}output.LayerNorm.weight`, layerNormScale, l === shape.numLayers - 1),
      layerNormBeta(`${p}output.LayerNorm.bias`, l === shape.numLayers - 1),
    )
  }
  const robertaClassifier = plan.layout === "sequence-classification" && plan.variant.classifier.robertaHead
  // XLMRobertaForSequenceClassification builds its RobertaModel without the pooler.
  if (!robertaClassifier) body.push(linearWeight("pooler.dense.weight", H, H, headGain), bias("pooler.dense.bias", H))
  const prefix = plan.layout === "sequence-classification" ? plan.variant.classifier.prefix : ""
  const main: TensorSource[] = body.map((tensor) => ({ ...tensor, name: prefix + tensor.name }))
  if (robertaClassifier) {
    main.push(
      linearWeight("classifier.dense.weight", H, H, headGain),
      bias("classifier.dense.bias", H),
      linearWeight("classifier.out_proj.weight", 1, H, rerankerOutGain, { readsHidden: false }),
      bias("classifier.out_proj.bias", 1, 0.5),
    )
  } else if (plan.layout === "sequence-classification") {
    main.push(linearWeight("classifier.weight", 1, H, rerankerOutGain, { readsHidden: false }), bias("classifier.bias", 1, 0.5))
  }
  if (plan.layout !== "m3") return { main, outlierChannels }
  return {
    main,
    outlierChannels,
    // The .pt files name their tensors plainly; the random streams keep the head's name.
    sparseLinear: [
      linearWeight("sparse_linear.weight", 1, H, sparseGain),
      source("sparse_linear.bias", [1], (random, values) => values.fill(0.05 + 0.05 * random.uniform())),
    ].map(withoutHeadPrefix),
    colbertLinear: [linearWeight("colbert_linear.weight", H, H, headGain), bias("colbert_linear.bias", H)].map(withoutHeadPrefix),
  }
}
