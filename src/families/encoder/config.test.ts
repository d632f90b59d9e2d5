// Proves config.json parsing of the BERT-style families through the registry: BGE-shaped configs
// normalise correctly, defaults follow Hugging Face per model type, and bad configs fail naming
// the file, the field and what was expected.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { CheckpointError, readConfigJson } from "../../checkpoint/index.ts"
import { makeTempDir } from "../../checkpoint/testing/fixtures.ts"
import { resolveFamily } from "../registry.ts"
import type { EncoderConfig } from "./config.ts"

const parseEncoderConfig = (json: unknown, file: string): EncoderConfig => resolveFamily(json as Record<string, unknown>, file).config as EncoderConfig
const readEncoderConfig = (dir: string): EncoderConfig => {
  const { file, json } = readConfigJson(dir)
  return parseEncoderConfig(json, file)
}

const { dir, cleanup } = makeTempDir("config")
afterAll(cleanup)

const bgeBase = {
  architectures: ["BertModel"],
  hidden_act: "gelu",
  hidden_size: 768,
  id2label: { "0": "LABEL_0" },
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: "bert",
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  type_vocab_size: 2,
  vocab_size: 30522,
}

const bgeM3 = {
  architectures: ["XLMRobertaModel"],
  hidden_size: 1024,
  intermediate_size: 4096,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 8194,
  model_type: "xlm-roberta",
  num_attention_heads: 16,
  num_hidden_layers: 24,
  pad_token_id: 1,
  type_vocab_size: 1,
  vocab_size: 250002,
}

const configError = (json: unknown): CheckpointError => {
  try {
    parseEncoderConfig(json, "/models/x/config.json")
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError)
    return error as CheckpointError
  }
  throw new Error("expected a CheckpointError")
}

describe("parsing config.json (bert, xlm-roberta)", () => {
  test("a bge-base style BERT config; id2label without a classifier architecture means no labels", () => {
    const config = parseEncoderConfig(bgeBase, "config.json")
    expect({ ...config, raw: undefined }).toEqual({
      family: "bert",
      hiddenSize: 768,
      numLayers: 12,
      numHeads: 12,
      intermediateSize: 3072,
      vocabSize: 30522,
      maxPositions: 512,
      maxInputLength: 512,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      padTokenId: 0,
      hiddenAct: "gelu",
      numLabels: 0,
      raw: undefined,
    })
    expect(config.raw).toBe(bgeBase)
  })

  test("a bge-m3 style XLM-R config", () => {
    const config = parseEncoderConfig(bgeM3, "config.json")
    expect([config.family, config.maxPositions, config.maxInputLength, config.typeVocabSize, config.padTokenId, config.layerNormEps]).toEqual([
      "xlm-roberta",
      8194,
      8192,
      1,
      1,
      1e-5,
    ])
  })

  test("a reranker (sequence classification) counts its labels", () => {
    const reranker = { ...bgeM3, architectures: ["XLMRobertaForSequenceClassification"], id2label: { "0": "LABEL_0" } }
    expect(parseEncoderConfig(reranker, "config.json").numLabels).toBe(1)
    const { id2label: _, ...withoutLabels } = reranker
    expect(parseEncoderConfig({ ...withoutLabels, num_labels: 3 }, "config.json").numLabels).toBe(3)
    expect(parseEncoderConfig(withoutLabels, "config.json").numLabels).toBe(2) // Hugging Face's default
  })

  test("optional fields take Hugging Face's per-type defaults (pad id 0 for BERT, 1 for XLM-R)", () => {
    const minimal = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 100, max_position_embeddings: 32 }
    const bert = parseEncoderConfig({ ...minimal, model_type: "bert" }, "config.json")
    const xlmr = parseEncoderConfig({ ...minimal, model_type: "xlm-roberta" }, "config.json")
    expect([bert.padTokenId, bert.typeVocabSize, bert.layerNormEps, bert.hiddenAct, bert.numLabels]).toEqual([0, 2, 1e-12, "gelu", 0])
    expect(xlmr.padTokenId).toBe(1)
  })

  test("an unsupported model_type names the value and the file", () => {
    const error = configError({ ...bgeBase, model_type: "roberta" })
    expect(error.reason).toBe("UnsupportedModelType")
    expect(error.message).toMatch(/^\/models\/x\/config\.json: model_type "roberta" is not supported; kiln reads .*"bert".*"xlm-roberta"/)
    expect(configError({ ...bgeBase, model_type: undefined, architectures: ["GPT2Model"] }).message).toMatch(/field "model_type" is missing/)
  })

  test("a config without model_type is found by its architectures", () => {
    expect(parseEncoderConfig({ ...bgeBase, model_type: undefined }, "config.json").family).toBe("bert")
    expect(parseEncoderConfig({ ...bgeM3, model_type: undefined, architectures: ["XLMRobertaForSequenceClassification"] }, "config.json").family).toBe("xlm-roberta")
  })

  test("a missing field names the field, the file and what was expected", () => {
    const { hidden_size: _, ...missing } = bgeBase
    const error = configError(missing)
    expect(error.reason).toBe("InvalidConfig")
    expect(error.detail.field).toBe("hidden_size")
    expect(error.message).toBe("/models/x/config.json: hidden_size is missing (expected an integer)")
  })

  test("mistyped fields name the field and the value received", () => {
    expect(configError({ ...bgeBase, num_hidden_layers: "12" }).message).toBe('/models/x/config.json: num_hidden_layers must be an integer, got "12"')
    expect(configError({ ...bgeBase, num_attention_heads: 1.5 }).message).toMatch(/: num_attention_heads must be an integer, got 1\.5$/)
    expect(configError({ ...bgeBase, hidden_size: -3 }).message).toMatch(/: hidden_size must be a positive integer, got -3$/)
    expect(configError({ ...bgeBase, vocab_size: 0 }).message).toMatch(/: vocab_size must be a positive integer, got 0$/)
    expect(configError({ ...bgeBase, hidden_act: "swish" }).message).toMatch(/: hidden_act must be one of "gelu", "gelu_new", "relu", got "swish"$/)
    expect(configError({ ...bgeBase, architectures: ["BertModel", 3] }).message).toMatch(/: architectures\[1\] must be a string, got 3$/)
    expect(configError({ ...bgeBase, position_embedding_type: "relative_key" }).message).toMatch(/: position_embedding_type must be "absolute", got "relative_key"$/)
    expect(configError({ ...bgeBase, layer_norm_eps: -1 }).detail.field).toBe("layer_norm_eps")
  })

  test("hidden_size must split evenly across heads", () => {
    expect(configError({ ...bgeBase, num_attention_heads: 7 }).message).toMatch(/"hidden_size" \(768\) must be a multiple of num_attention_heads \(7\)/)
  })

  test("a non-object config is rejected", () => {
    writeFileSync(join(dir, "config.json"), "[1, 2]")
    expect(() => readEncoderConfig(dir)).toThrow(/must be a JSON object/)
  })
})

describe("reading config.json", () => {
  test("reads <dir>/config.json and reports a missing file or bad JSON by path", () => {
    writeFileSync(join(dir, "config.json"), JSON.stringify(bgeM3))
    expect(readEncoderConfig(dir).hiddenSize).toBe(1024)
    expect(() => readEncoderConfig(join(dir, "nope"))).toThrow(/nope\/config\.json: cannot read the model config/)
    writeFileSync(join(dir, "config.json"), "{ not json")
    expect(() => readEncoderConfig(dir)).toThrow(/config\.json: the model config is not valid JSON/)
  })

  const shared = "/work/shared/data/tokenizers"
  test.skipIf(!existsSync(shared))("dev check: the real BGE configs in ../shared parse", () => {
    expect(readEncoderConfig(join(shared, "bge-base-en-v1.5")).hiddenSize).toBe(768)
    expect(readEncoderConfig(join(shared, "bge-small-zh-v1.5")).numLayers).toBe(4)
  })
})
