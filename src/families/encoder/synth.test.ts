// Proves synthetic BERT / XLM-R checkpoints are what the real BGE folders look like (config fields, tensor
// names and shapes, file layout), read back with kiln's own readers, are byte-for-byte
// deterministic, and behave like trained models under the reference forward (distinct
// embeddings; outlier channels only when asked).

import { afterAll, describe, expect, test } from "bun:test"
import { readdirSync, statSync } from "node:fs"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AutoTokenizer, env } from "@huggingface/transformers"
import { readConfigJson } from "../../checkpoint/index.ts"
import type { ReferenceBatch } from "../../reference/index.ts"
import { SynthError, writeSyntheticTokenizer } from "../../seeded/index.ts"
import { synthesizeCheckpoint, type SynthesizeCheckpointOptions, type SynthesizedCheckpoint } from "../../synth/index.ts"
import type { LazyTensor } from "../../tensor/index.ts"
import { bertVariant } from "../bert/variant.ts"
import type { FamilyTask } from "../family.ts"
import { referenceForward } from "../reference-forward.ts"
import { openModel, resolveFamily } from "../registry.ts"
import { xlmRobertaVariant } from "../xlm-roberta/variant.ts"
import type { EncoderConfig } from "./config.ts"
import { encoderShape } from "./shapes.ts"

type SynthArch = "bert" | "xlm-roberta"
type SynthTask = FamilyTask
const openCheckpoint = openModel
const readEncoderConfig = (dir: string): EncoderConfig => {
  const { file, json } = readConfigJson(dir)
  return resolveFamily(json, file).config as EncoderConfig
}

const root = await mkdtemp(join(tmpdir(), "kiln-synth-checkpoint-"))
afterAll(() => rm(root, { recursive: true, force: true }))

let folderCount = 0
const synth = (options: Omit<SynthesizeCheckpointOptions, "out">, name = `ckpt-${folderCount++}`) =>
  synthesizeCheckpoint({ ...options, out: join(root, name) })

const openWeights = (checkpoint: SynthesizedCheckpoint) => openCheckpoint(checkpoint.dir)

const shapesOf = (tensors: ReadonlyMap<string, LazyTensor>): Record<string, readonly number[]> =>
  Object.fromEntries([...tensors].map(([name, tensor]) => [name, [...tensor.shape]]))

/** The tensors a Hugging Face BertModel / XLMRobertaModel of the tiny size holds (H 32, FFN 64, 2 layers). */
const expectedBaseShapes = (prefix: string, vocab: number, positions: number, types: number, pooler: boolean) => {
  const shapes: Record<string, number[]> = {
    [`${prefix}embeddings.word_embeddings.weight`]: [vocab, 32],
    [`${prefix}embeddings.position_embeddings.weight`]: [positions, 32],
    [`${prefix}embeddings.token_type_embeddings.weight`]: [types, 32],
    [`${prefix}embeddings.LayerNorm.weight`]: [32],
    [`${prefix}embeddings.LayerNorm.bias`]: [32],
  }
  for (let l = 0; l < 2; l++) {
    const p = `${prefix}encoder.layer.${l}.`
    for (const part of ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]) {
      shapes[`${p}${part}.weight`] = [32, 32]
      shapes[`${p}${part}.bias`] = [32]
    }
    Object.assign(shapes, {
      [`${p}attention.output.LayerNorm.weight`]: [32],
      [`${p}attention.output.LayerNorm.bias`]: [32],
      [`${p}intermediate.dense.weight`]: [64, 32],
      [`${p}intermediate.dense.bias`]: [64],
      [`${p}output.dense.weight`]: [32, 64],
      [`${p}output.dense.bias`]: [32],
      [`${p}output.LayerNorm.weight`]: [32],
      [`${p}output.LayerNorm.bias`]: [32],
    })
  }
  if (pooler) Object.assign(shapes, { [`${prefix}pooler.dense.weight`]: [32, 32], [`${prefix}pooler.dense.bias`]: [32] })
  return shapes
}

describe("layout and config of each architecture and task", () => {
  const cases: [SynthArch, SynthTask][] = [
    ["bert", "embedding"],
    ["bert", "reranker"],
    ["xlm-roberta", "embedding"],
    ["xlm-roberta", "reranker"],
    ["xlm-roberta", "m3"],
  ]
  for (const [arch, task] of cases) {
    test(`tiny ${arch} ${task}: files, config.json and tensor names/shapes read back`, async () => {
      const checkpoint = await synth({ arch, size: "tiny", task, seed: 11 })
      const bert = arch === "bert"
      const files = readdirSync(checkpoint.dir).sort()
      const weightFiles = task === "m3" ? ["colbert_linear.pt", "pytorch_model.bin", "sparse_linear.pt"] : ["model.safetensors"]
      const tokenizerFiles = ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", ...(bert ? ["vocab.txt"] : [])]
      expect(files).toEqual(["config.json", ...weightFiles, ...tokenizerFiles].sort())
      const totalBytes = files.reduce((sum, file) => sum + statSync(join(checkpoint.dir, file)).size, 0)
      expect(totalBytes).toBeLessThan(1_000_000)

      const config = readEncoderConfig(checkpoint.dir)
      expect(config.family).toBe(arch)
      expect([config.hiddenSize, config.numLayers, config.numHeads, config.intermediateSize]).toEqual([32, 2, 4, 64])
      expect(config.vocabSize).toBe(1000)
      expect(config.maxPositions).toBe(bert ? 512 : 514)
      expect(config.typeVocabSize).toBe(bert ? 2 : 1)
      expect(config.layerNormEps).toBe(bert ? 1e-12 : 1e-5)
      expect(config.padTokenId).toBe(bert ? 0 : 1)
      expect(config.numLabels).toBe(task === "reranker" ? 1 : 0)
      const classPrefix = bert ? "Bert" : "XLMRoberta"
      expect(config.raw.architectures).toEqual([task === "reranker" ? `${classPrefix}ForSequenceClassification` : `${classPrefix}Model`])

      const weights = openWeights(checkpoint)
      try {
        expect(weights.format).toBe(task === "m3" ? "pytorch" : "safetensors")
        expect([...weights.extras.keys()]).toEqual(task === "m3" ? ["colbert_linear", "sparse_linear"] : [])
        const prefix = task === "reranker" ? (bert ? "bert." : "roberta.") : ""
        const expected: Record<string, number[]> = expectedBaseShapes(prefix, 1000, bert ? 512 : 514, bert ? 2 : 1, !(task === "reranker" && !bert))
        if (task === "reranker" && bert) Object.assign(expected, { "classifier.weight": [1, 32], "classifier.bias": [1] })
        if (task === "reranker" && !bert) {
          Object.assign(expected, {
            "classifier.dense.weight": [32, 32],
            "classifier.dense.bias": [32],
            "classifier.out_proj.weight": [1, 32],
            "classifier.out_proj.bias": [1],
          })
        }
        expect(shapesOf(weights.tensors)).toEqual(expected)
        expect([...weights.tensors.values()].every((tensor) => tensor.dtype === "float32")).toBe(true)
        if (task === "m3") {
          expect(shapesOf(weights.extras.get("sparse_linear")!)).toEqual({ weight: [1, 32], bias: [1] })
          expect(shapesOf(weights.extras.get("colbert_linear")!)).toEqual({ weight: [32, 32], bias: [32] })
        }
      } finally {
        weights.close()
      }
    })
  }

  test("size bge-m3 uses the bge-m3 layout and real config values (checked without writing weights)", async () => {
    const modelShape = (arch: SynthArch, size: string) => encoderShape((arch === "bert" ? bertVariant : xlmRobertaVariant).synth, size)
    const shape = modelShape("xlm-roberta", "bge-m3")
    expect(shape).toMatchObject({ numLayers: 24, hiddenSize: 1024, numHeads: 16, intermediateSize: 4096, vocabSize: 250002, maxPositions: 8194, typeVocabSize: 1, layerNormEps: 1e-5 })
    expect(modelShape("bert", "bge-small")).toMatchObject({ numLayers: 12, hiddenSize: 384, numHeads: 12, intermediateSize: 1536, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 })
    expect(modelShape("xlm-roberta", "bge-reranker-base")).toMatchObject({ hiddenSize: 768, maxPositions: 514, vocabSize: 250002 })
  })

  test("float16 weights are stored as float16", async () => {
    const checkpoint = await synth({ arch: "bert", size: "tiny", task: "embedding", seed: 3, dtype: "float16" })
    const weights = openWeights(checkpoint)
    expect(new Set([...weights.tensors.values()].map((t) => t.dtype))).toEqual(new Set(["float16"]))
    expect(readEncoderConfig(checkpoint.dir).raw.torch_dtype).toBe("float16")
    weights.close()
  })
})

describe("determinism", () => {
  const filesOf = async (dir: string) =>
    Object.fromEntries(await Promise.all(readdirSync(dir).sort().map(async (file) => [file, await readFile(join(dir, file))] as const)))

  test("the same options give byte-identical folders (safetensors and torch layouts); another seed does not", async () => {
    for (const task of ["reranker", "m3"] as const) {
      const options = { arch: "xlm-roberta", size: "tiny", task, seed: 42, outliers: true } as const
      const a = await synth(options)
      const b = await synth(options)
      const c = await synth({ ...options, seed: 43 })
      const filesA = await filesOf(a.dir)
      expect(await filesOf(b.dir)).toEqual(filesA)
      expect((await filesOf(c.dir))[a.weightsFile]).not.toEqual(filesA[a.weightsFile])
    }
  })

  test("a reranker's encoder body equals the embedding model's for the same seed", async () => {
    const embedding = openWeights(await synth({ arch: "bert", size: "tiny", task: "embedding", seed: 5 }))
    const reranker = openWeights(await synth({ arch: "bert", size: "tiny", task: "reranker", seed: 5 }))
    const name = "encoder.layer.1.output.dense.weight"
    expect(reranker.tensors.get(`bert.${name}`)!.readFloat32()).toEqual(embedding.tensors.get(name)!.readFloat32())
    embedding.close()
    reranker.close()
  })
})

/** Tokenizes with the checkpoint's own tokenizer through transformers.js, padded to one length. */
const tokenize = async (dir: string, texts: readonly string[], pairs?: readonly string[]): Promise<ReferenceBatch> => {
  env.allowRemoteModels = false
  env.allowLocalModels = true
  env.localModelPath = `${root}/`
  const tokenizer = await AutoTokenizer.from_pretrained(dir.slice(root.length + 1))
  const encoded = tokenizer([...texts], { padding: true, ...(pairs ? { text_pair: [...pairs] } : {}) })
  const rows = (tensor: { tolist(): unknown }) => (tensor.tolist() as bigint[][]).map((row) => row.map(Number))
  return { inputIds: rows(encoded.input_ids), attentionMask: rows(encoded.attention_mask) }
}

const sentences = [
  "The cat sat on the mat.",
  "The cat sat on the red mat.",
  "Search engines rank passages for a query.",
  "Tomorrow the weather will be rain and wind.",
  "Music and food make people happy.",
]

const cosine = (data: Float64Array, hidden: number, i: number, j: number): number => {
  let dot = 0
  for (let c = 0; c < hidden; c++) dot += data[i * hidden + c]! * data[j * hidden + c]!
  return dot
}

describe("behaviour under the reference forward", () => {
  for (const arch of ["bert", "xlm-roberta"] as const) {
    test(`${arch}: different sentences get clearly different dense embeddings; a near-duplicate is closer than unrelated pairs`, async () => {
      const checkpoint = await synth({ arch, size: "tiny", task: "embedding", seed: 7 })
      const weights = openWeights(checkpoint)
      const out = referenceForward(readEncoderConfig(checkpoint.dir), weights.tensors, {}, await tokenize(checkpoint.dir, sentences), "embedding")
      weights.close()
      const cosines: number[] = []
      for (let i = 0; i < sentences.length; i++) for (let j = i + 1; j < sentences.length; j++) cosines.push(cosine(out.dense.data, 32, i, j))
      expect(Math.min(...cosines)).toBeLessThan(0.9)
      expect(Math.max(...cosines)).toBeLessThan(0.999)
      expect(Math.max(...cosines) - Math.min(...cosines)).toBeGreaterThan(0.1)
      // Sentence 1 is sentence 0 plus one word: more alike than unrelated pairs are on average.
      const unrelated = cosines.slice(sentences.length - 1)
      expect(cosines[0]!).toBeGreaterThan(unrelated.reduce((a, b) => a + b, 0) / unrelated.length + 0.05)
    })
  }

  test("reranker logits differ across query–passage pairs; m3 heads give non-trivial sparse weights", async () => {
    const reranker = await synth({ arch: "xlm-roberta", size: "tiny", task: "reranker", seed: 8 })
    const rerankerWeights = openWeights(reranker)
    const queries = sentences.map(() => "what is a cat?")
    const pairs = await tokenize(reranker.dir, queries, sentences)
    const scored = referenceForward(readEncoderConfig(reranker.dir), rerankerWeights.tensors, {}, pairs, "reranker")
    rerankerWeights.close()
    const logits = [...scored.logits!.data]
    expect(Math.max(...logits) - Math.min(...logits)).toBeGreaterThan(0.1)

    const m3 = await synth({ arch: "xlm-roberta", size: "tiny", task: "m3", seed: 8 })
    const m3Weights = openWeights(m3)
    const extras = { sparseLinear: m3Weights.extras.get("sparse_linear")!, colbertLinear: m3Weights.extras.get("colbert_linear")! }
    const out = referenceForward(m3Weights.config, m3Weights.tensors, extras, await tokenize(m3.dir, sentences), "m3")
    m3Weights.close()
    const sparse = [...out.sparse!.data]
    const positive = sparse.filter((w) => w > 0).length
    expect(positive).toBeGreaterThan(sparse.length / 5)
    expect(positive).toBeLessThan(sparse.length)
    expect(out.colbert!.shape).toEqual([sentences.length, out.sparse!.shape[1]! - 1, 32])
  })

  const channelStats = async (outliers: boolean) => {
    const checkpoint = await synth({ arch: "bert", size: "tiny", task: "embedding", seed: 9, outliers })
    const weights = openWeights(checkpoint)
    const batch = await tokenize(checkpoint.dir, sentences)
    const out = referenceForward(readEncoderConfig(checkpoint.dir), weights.tensors, {}, batch, "embedding", { hiddenStates: true })
    weights.close()
    const outlierIndices = new Set(checkpoint.outlierChannels.map((c) => c.index))
    const L = batch.inputIds[0]!.length
    // Hidden states that feed the next layer's matmuls: after the embeddings and after each inner layer.
    const inner = out.hiddenStates!.slice(0, -1)
    let outlierMin = Infinity
    let outlierMax = 0
    let ordinaryMax = 0
    let ordinarySquares = 0
    let ordinaryCount = 0
    for (const state of inner) {
      batch.attentionMask.forEach((mask, b) =>
        mask.forEach((m, t) => {
          if (m === 0) return
          for (let c = 0; c < 32; c++) {
            const value = Math.abs(state.data[(b * L + t) * 32 + c]!)
            if (outlierIndices.has(c)) {
              outlierMin = Math.min(outlierMin, value)
              outlierMax = Math.max(outlierMax, value)
            } else {
              ordinaryMax = Math.max(ordinaryMax, value)
              ordinarySquares += value * value
              ordinaryCount++
            }
          }
        }),
      )
    }
    const last = out.hiddenStates!.at(-1)!
    return { checkpoint, outlierMin, outlierMax, ordinaryMax, ordinaryRms: Math.sqrt(ordinarySquares / ordinaryCount), lastMax: Math.max(...last.data.map(Math.abs)) }
  }

  test("outliers: a few channels reach |x| of 20–100 inside the network while the others stay O(1)", async () => {
    const stats = await channelStats(true)
    expect(stats.checkpoint.outlierChannels.length).toBeGreaterThanOrEqual(2)
    expect(stats.checkpoint.outlierChannels.length).toBeLessThanOrEqual(4)
    expect(stats.outlierMin).toBeGreaterThan(15)
    expect(stats.outlierMax).toBeLessThan(120)
    expect(stats.ordinaryRms).toBeLessThan(3)
    expect(stats.ordinaryMax).toBeLessThan(15)
    // The last LayerNorm returns them to ordinary scale, so pooled embeddings are not one constant direction.
    expect(stats.lastMax).toBeLessThan(15)
  })

  test("without outliers no channel is large", async () => {
    const stats = await channelStats(false)
    expect(stats.checkpoint.outlierChannels).toEqual([])
    expect(stats.ordinaryMax).toBeLessThan(8)
    expect(stats.ordinaryRms).toBeGreaterThan(0.5)
    expect(stats.ordinaryRms).toBeLessThan(1.5)
  })
})

describe("tokenizer choice and bad options", () => {
  test("tokenizerDir is copied and vocab_size follows it", async () => {
    const source = join(root, "real-like-tokenizer")
    await writeSyntheticTokenizer(source, { kind: "unigram", vocabSize: 1500, seed: 2, modelMaxLength: 512 })
    const checkpoint = await synth({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 1, tokenizerDir: source })
    expect(readEncoderConfig(checkpoint.dir).vocabSize).toBe(1500)
    expect(await readFile(join(checkpoint.dir, "tokenizer.json"))).toEqual(await readFile(join(source, "tokenizer.json")))
    const weights = openWeights(checkpoint)
    expect(weights.tensors.get("embeddings.word_embeddings.weight")!.shape).toEqual([1500, 32])
    weights.close()
  })

  const rejects: [string, Omit<SynthesizeCheckpointOptions, "out">, RegExp][] = [
    ["task m3 on bert", { arch: "bert", size: "tiny", task: "m3", seed: 1 }, /task: arch "bert" has tasks "embedding", "reranker", got "m3"/],
    ["size bge-m3 on bert", { arch: "bert", size: "bge-m3", task: "embedding", seed: 1 }, /size: arch "bert" comes in sizes .*, got "bge-m3"/],
    ["a negative seed", { arch: "bert", size: "tiny", task: "embedding", seed: -1 }, /seed/],
    ["an unknown size", { arch: "bert", size: "huge" as "tiny", task: "embedding", seed: 1 }, /size/],
  ]
  for (const [what, options, message] of rejects) {
    test(`rejects ${what} before writing anything`, async () => {
      const name = `rejected-${folderCount++}`
      const attempt = synth(options, name)
      await expect(attempt).rejects.toBeInstanceOf(SynthError)
      await expect(attempt).rejects.toThrow(message)
      expect(readdirSync(root)).not.toContain(name)
    })
  }

  test("a tokenizerDir without tokenizer.json is named", async () => {
    const attempt = synth({ arch: "bert", size: "tiny", task: "embedding", seed: 1, tokenizerDir: join(root, "no-such-tokenizer") })
    await expect(attempt).rejects.toMatchObject({ reason: "MissingFile" })
    await expect(attempt).rejects.toThrow(/no-such-tokenizer\/tokenizer\.json not found/)
  })
})
