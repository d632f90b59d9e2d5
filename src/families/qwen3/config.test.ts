// Proves Qwen3's config.json is read in transformers' field names — the real
// Qwen3-Embedding-0.6B config normalises to its shapes (GQA 16/8, head_dim 128 ≠ hidden/heads) —
// that the registry finds the family by model_type or architectures, and that what kiln cannot
// build is refused naming the field.
import { describe, expect, test } from "bun:test"
import { CheckpointError } from "../../checkpoint/index.ts"
import { resolveFamily } from "../registry.ts"
import type { Qwen3Config } from "./config.ts"

/** Qwen/Qwen3-Embedding-0.6B's config.json (its fields; values as published). */
const qwen3Embedding06B = {
  architectures: ["Qwen3ForCausalLM"],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  head_dim: 128,
  hidden_act: "silu",
  hidden_size: 1024,
  initializer_range: 0.02,
  intermediate_size: 3072,
  max_position_embeddings: 32768,
  max_window_layers: 28,
  model_type: "qwen3",
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  transformers_version: "4.51.3",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151669,
}

const parse = (json: Record<string, unknown>) => resolveFamily(json, "/m/config.json")
const failure = (json: Record<string, unknown>): CheckpointError => {
  try {
    parse(json)
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError)
    return error as CheckpointError
  }
  throw new Error("expected a CheckpointError")
}

describe("qwen3 config.json", () => {
  test("Qwen3-Embedding-0.6B's config resolves to the qwen3 family with its real shapes", () => {
    const { family, config } = parse(qwen3Embedding06B)
    expect(family.name).toBe("qwen3")
    expect({ ...(config as Qwen3Config), raw: undefined }).toEqual({
      family: "qwen3",
      hiddenSize: 1024,
      numLayers: 28,
      vocabSize: 151669,
      maxInputLength: 32768,
      intermediateSize: 3072,
      numHeads: 16,
      numKeyValueHeads: 8,
      headDim: 128,
      rmsNormEps: 1e-6,
      ropeTheta: 1000000,
      maxPositionEmbeddings: 32768,
      tieWordEmbeddings: true,
      raw: undefined,
    })
  })

  test("without model_type the architectures find the family; head_dim and kv heads default as Qwen3Config does", () => {
    const { model_type: _, head_dim: __, num_key_value_heads: ___, ...rest } = qwen3Embedding06B
    const { family, config } = parse({ ...rest, architectures: ["Qwen3Model"] })
    expect(family.name).toBe("qwen3")
    expect([(config as Qwen3Config).headDim, (config as Qwen3Config).numKeyValueHeads]).toEqual([64, 16])
  })

  test("what kiln cannot build is refused naming the field", () => {
    expect(failure({ ...qwen3Embedding06B, attention_bias: true }).detail.field).toBe("attention_bias")
    expect(failure({ ...qwen3Embedding06B, use_sliding_window: true }).detail.field).toBe("use_sliding_window")
    expect(failure({ ...qwen3Embedding06B, rope_scaling: { rope_type: "yarn", factor: 4 } }).detail.field).toBe("rope_scaling")
    expect(failure({ ...qwen3Embedding06B, hidden_act: "gelu" }).message).toContain('hidden_act must be "silu", got "gelu"')
    expect(failure({ ...qwen3Embedding06B, num_key_value_heads: 5 }).message).toContain('field "num_key_value_heads" (5) must divide num_attention_heads (16)')
    expect(failure({ ...qwen3Embedding06B, head_dim: 7 }).message).toContain('field "head_dim" must be an even integer')
    const { hidden_size: _, ...missing } = qwen3Embedding06B
    expect(failure(missing).message).toBe("/m/config.json: hidden_size is missing (expected an integer)")
  })

  test("a tokenizer folder's partial config gives the input limit", () => {
    expect(parse(qwen3Embedding06B).family.inputLimit({ model_type: "qwen3", max_position_embeddings: 32768 })).toBe(32768)
  })
})
