// The ten BGE models as presets: one typed record per model, in one place. Everything a pipeline
// needs to know about a model lives here — where it is on the Hub, its architecture and real
// shape (a checkpoint that disagrees is refused, naming the field), task, pooling, query
// instruction, lengths, the evaluation and calibration sets, int8 settings, the vendor
// accelerator's exclude lists where the seed has them, and the published figures an evaluation
// is printed against. Figures are only those the seed or MTEB report; none is invented.
import { familyNamed, familyNames } from "../../src/families/index.ts"
import { bgeM3VaccPreset, bgeRerankerV2M3VaccPreset } from "../../src/quant/index.ts"
import { bgeChineseQueryInstruction, bgeEnglishQueryInstruction } from "../../src/tokenize/index.ts"
import type { DatasetPresetName } from "./datasets.ts"

export type Precision = "fp32" | "fp16" | "int8"

/**
 * The model family (its name in src/families' registry, which reads config.json) and the
 * dimensions the family's parsed config must have; a checkpoint that disagrees is not this model.
 */
export interface PresetShape {
  readonly family: string
  readonly hiddenSize: number
  readonly numLayers: number
  readonly numHeads: number
  readonly intermediateSize: number
  readonly vocabSize: number
  readonly maxPositions: number
}

/** A figure someone published for this model, to print an evaluation against. */
export interface PublishedFigure {
  readonly dataset: DatasetPresetName
  /** The eval report's main metric: cosine Spearman for STS, MAP for reranking. */
  readonly metric: "cosine_spearman" | "map"
  readonly precision: Precision
  readonly value: number
  /** Who measured it and how. */
  readonly source: string
}

export interface ModelPreset {
  /** Pipeline file name: pipelines/<name>.ts. */
  readonly name: string
  readonly repo: string
  /** Default revision; the lock file records the commit it resolved to. */
  readonly revision: string
  readonly shape: PresetShape
  readonly task: "embedding" | "reranker" | "m3"
  /** Dense embedding: the CLS token of the last hidden state, L2-normalised (every BGE model); rerankers: the logit. */
  readonly pooling: "cls" | "logit"
  readonly normalize: boolean
  /** Prepended to queries (not passages) in retrieval; undefined for bge-m3 and the rerankers. */
  readonly instruction: string | undefined
  /** Longest input the model was trained for. */
  readonly maxLength: number
  /** Static sequence lengths compiled for the accelerator. */
  readonly deviceSeqlens: readonly number[]
  /** Padded length of calibration samples and of accuracy checks. */
  readonly seqlen: number
  readonly evalSet: DatasetPresetName
  /** Sentence pairs for int8 calibration and fidelity checks (STS sets; rerankers score the pairs). */
  readonly calibrationSet: DatasetPresetName
  readonly precisions: readonly Precision[]
  readonly int8: {
    readonly method: "percentile" | "max" | "entropy"
    /** Fidelity budget the sensitivity search keeps layers in float for. */
    readonly budget: { readonly meanCosine: number } | { readonly spearman: number }
  }
  /** Layer groups the vendor's int8 keeps in float (vamc exclude_layers), where the seed has a list. */
  readonly vaccExclude: readonly string[] | undefined
  readonly published: readonly PublishedFigure[]
  /**
   * A synthetic stand-in of this model: its tokenizer (a real English or Chinese BGE one, or a
   * generated XLM-R one) and the family's synthetic size of the real shape (bench/presets.ts; a test
   * proves its dimensions are the preset's).
   */
  readonly synth: { readonly tokenizer: "english" | "chinese" | "xlm-roberta"; readonly size: string }
}

// The real models' config.json values (every BGE model has a 4× feed-forward block).
const bert = (hiddenSize: number, numLayers: number, numHeads: number, vocabSize: number): PresetShape => ({ family: "bert", hiddenSize, numLayers, numHeads, intermediateSize: hiddenSize * 4, vocabSize, maxPositions: 512 })
const xlmr = (hiddenSize: number, numLayers: number, numHeads: number, maxPositions: number): PresetShape => ({ family: "xlm-roberta", hiddenSize, numLayers, numHeads, intermediateSize: hiddenSize * 4, vocabSize: 250002, maxPositions })

const mteb = "MTEB leaderboard, fp32 PyTorch (main score ×100 in MTEB's tables)"
const seed = (what: string) => `the seed's measurements: ${what}`

const english = (name: string, shape: PresetShape, synthSize: string, sts12: number): ModelPreset => ({
  name,
  repo: `BAAI/${name}`,
  revision: "main",
  shape,
  task: "embedding",
  pooling: "cls",
  normalize: true,
  instruction: bgeEnglishQueryInstruction,
  maxLength: 512,
  deviceSeqlens: [512],
  seqlen: 512,
  evalSet: "sts12",
  calibrationSet: "sts-b",
  precisions: ["fp32", "fp16", "int8"],
  int8: { method: "percentile", budget: { meanCosine: 0.995 } },
  vaccExclude: undefined,
  published: [{ dataset: "sts12", metric: "cosine_spearman", precision: "fp32", value: sts12, source: mteb }],
  synth: { tokenizer: "english", size: synthSize },
})

const chinese = (name: string, shape: PresetShape, synthSize: string): ModelPreset => ({
  name,
  repo: `BAAI/${name}`,
  revision: "main",
  shape,
  task: "embedding",
  pooling: "cls",
  normalize: true,
  instruction: bgeChineseQueryInstruction,
  maxLength: 512,
  deviceSeqlens: [512],
  seqlen: 512,
  evalSet: "bq",
  calibrationSet: "sts-b-zh",
  precisions: ["fp32", "fp16", "int8"],
  int8: { method: "percentile", budget: { meanCosine: 0.995 } },
  vaccExclude: undefined,
  // The seed has no BQ figure for these models and none is quoted here from memory.
  published: [],
  synth: { tokenizer: "chinese", size: synthSize },
})

const reranker = (name: string, shape: PresetShape, synthSize: string, extra: Partial<ModelPreset> = {}): ModelPreset => ({
  name,
  repo: `BAAI/${name}`,
  revision: "main",
  shape,
  task: "reranker",
  pooling: "logit",
  normalize: false,
  instruction: undefined,
  maxLength: shape.maxPositions - 2,
  deviceSeqlens: [512],
  seqlen: 512,
  evalSet: "msmarco-dev-100",
  calibrationSet: "sts12",
  precisions: ["fp32", "fp16", "int8"],
  int8: { method: "max", budget: { spearman: 0.997 } },
  vaccExclude: undefined,
  published: [],
  synth: { tokenizer: "xlm-roberta", size: synthSize },
  ...extra,
})

export const modelPresets: readonly ModelPreset[] = [
  {
    name: "bge-m3",
    repo: "BAAI/bge-m3",
    revision: "main",
    shape: xlmr(1024, 24, 16, 8194),
    task: "m3",
    pooling: "cls",
    normalize: true,
    instruction: undefined,
    maxLength: 8192,
    deviceSeqlens: [512, 2048, 4096, 8192],
    seqlen: 512,
    evalSet: "sts12",
    calibrationSet: "sts12",
    precisions: ["fp32", "fp16", "int8"],
    int8: { method: "percentile", budget: { meanCosine: 0.999 } },
    vaccExclude: bgeM3VaccPreset(24).excludeLayers,
    published: [
      { dataset: "sts12", metric: "cosine_spearman", precision: "fp32", value: 0.78735, source: seed("PyTorch fp32, seqlen 512") },
      { dataset: "sts12", metric: "cosine_spearman", precision: "fp16", value: 0.7874, source: seed("VastAI accelerator fp16, seqlen 512") },
      { dataset: "sts12", metric: "cosine_spearman", precision: "int8", value: 0.78722, source: seed("VastAI accelerator int8 mixed precision, seqlen 512") },
    ],
    synth: { tokenizer: "xlm-roberta", size: "bge-m3" },
  },
  english("bge-small-en-v1.5", bert(384, 12, 12, 30522), "bge-small", 0.7744),
  english("bge-base-en-v1.5", bert(768, 12, 12, 30522), "bge-base", 0.7803),
  english("bge-large-en-v1.5", bert(1024, 24, 16, 30522), "bge-large", 0.7905),
  chinese("bge-small-zh-v1.5", bert(512, 4, 8, 21128), "bge-small-zh"),
  chinese("bge-base-zh-v1.5", bert(768, 12, 12, 21128), "bge-base"),
  chinese("bge-large-zh-v1.5", bert(1024, 24, 16, 21128), "bge-large"),
  reranker("bge-reranker-base", xlmr(768, 12, 12, 514), "bge-reranker-base"),
  reranker("bge-reranker-large", xlmr(1024, 24, 16, 514), "bge-large"),
  reranker("bge-reranker-v2-m3", xlmr(1024, 24, 16, 8194), "bge-m3", {
    maxLength: 8192,
    deviceSeqlens: [512, 2048, 4096, 8192],
    vaccExclude: bgeRerankerV2M3VaccPreset(24).excludeLayers,
    published: [
      { dataset: "msmarco-dev-100", metric: "map", precision: "fp32", value: 0.5789, source: seed("PyTorch fp32") },
      { dataset: "msmarco-dev-100", metric: "map", precision: "fp16", value: 0.5148, source: seed("VastAI accelerator fp16") },
      { dataset: "msmarco-dev-100", metric: "map", precision: "int8", value: 0.4932, source: seed("VastAI accelerator int8") },
    ],
  }),
]

// Each preset's family must be registered and able to do the preset's task: a typo here fails on
// import, not halfway through a run.
for (const preset of modelPresets) {
  const family = familyNamed(preset.shape.family)
  if (family === undefined) throw new Error(`internal error: preset ${preset.name} names family "${preset.shape.family}"; registered: ${familyNames().join(", ")}`)
  if (!family.tasks.includes(preset.task)) throw new Error(`internal error: preset ${preset.name} has task "${preset.task}", which family ${family.name} cannot do (${family.tasks.join(", ")})`)
  if (!family.synth.sizes.includes(preset.synth.size)) throw new Error(`internal error: preset ${preset.name} names synthetic size "${preset.synth.size}", which family ${family.name} does not have (${family.synth.sizes.join(", ")})`)
}

/** The preset of a model by pipeline name or Hub repo; an unknown name lists the known ones. */
export const modelPreset = (name: string): ModelPreset => {
  const found = modelPresets.find((p) => p.name === name || p.repo === name)
  if (found === undefined) throw new Error(`unknown model "${name}"; known: ${modelPresets.map((p) => p.name).join(", ")}`)
  return found
}
