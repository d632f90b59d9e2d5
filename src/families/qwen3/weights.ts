// Qwen3's weight names and shapes as transformers' Qwen3Model stores them — embed_tokens, then per
// layer input_layernorm, self_attn.{q,k,v,o}_proj and {q,k}_norm, post_attention_layernorm,
// mlp.{gate,up,down}_proj, and the final norm. A Qwen3ForCausalLM checkpoint prefixes them with
// `model.`; sentence-transformers' copies (Qwen3-Embedding) do not. lm_head is never read.
import type { Qwen3Config } from "./config.ts"

/** Prefixes a wrapper class adds before the base-model names. */
export const qwen3WeightPrefixes = ["model."] as const

export interface Qwen3LayerWeights<T> {
  readonly inputNorm: T
  readonly q: T
  readonly k: T
  readonly v: T
  readonly o: T
  readonly qNorm: T
  readonly kNorm: T
  readonly postNorm: T
  readonly gate: T
  readonly up: T
  readonly down: T
}

export interface WeightSpec {
  readonly name: string
  /** PyTorch layout: Linear weights are [out, in]. */
  readonly shape: readonly number[]
}

export const embedWeight = (c: Qwen3Config): WeightSpec => ({ name: "embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize] })

export const finalNormWeight = (c: Qwen3Config): WeightSpec => ({ name: "norm.weight", shape: [c.hiddenSize] })

export const layerWeights = (c: Qwen3Config, layer: number): Qwen3LayerWeights<WeightSpec> => {
  const p = `layers.${layer}.`
  const H = c.hiddenSize
  const q = c.numHeads * c.headDim
  const kv = c.numKeyValueHeads * c.headDim
  return {
    inputNorm: { name: `${p}input_layernorm.weight`, shape: [H] },
    q: { name: `${p}self_attn.q_proj.weight`, shape: [q, H] },
    k: { name: `${p}self_attn.k_proj.weight`, shape: [kv, H] },
    v: { name: `${p}self_attn.v_proj.weight`, shape: [kv, H] },
    o: { name: `${p}self_attn.o_proj.weight`, shape: [H, q] },
    qNorm: { name: `${p}self_attn.q_norm.weight`, shape: [c.headDim] },
    kNorm: { name: `${p}self_attn.k_norm.weight`, shape: [c.headDim] },
    postNorm: { name: `${p}post_attention_layernorm.weight`, shape: [H] },
    gate: { name: `${p}mlp.gate_proj.weight`, shape: [c.intermediateSize, H] },
    up: { name: `${p}mlp.up_proj.weight`, shape: [c.intermediateSize, H] },
    down: { name: `${p}mlp.down_proj.weight`, shape: [H, c.intermediateSize] },
  }
}
