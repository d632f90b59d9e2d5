// The Qwen3 family, proved with Qwen3-Embedding (Qwen/Qwen3-Embedding-0.6B): a decoder-only
// transformer — RMSNorm, SwiGLU, rotary positions, grouped-query attention with per-head q/k
// RMSNorm, causal mask — whose embedding is its last real token's final state, L2-normalised.
// Exported for task "embedding" only (no reranker or m3 head), with plain ONNX ops.
import type { ModelFamily } from "../family.ts"
import { parseQwen3Config, type Qwen3Config, qwen3InputLimit } from "./config.ts"
import { buildQwen3Graph } from "./graph.ts"
import { qwen3Reference } from "./reference.ts"
import { qwen3Synth } from "./synth.ts"
import { qwen3WeightPrefixes } from "./weights.ts"

export const qwen3: ModelFamily<Qwen3Config> = {
  name: "qwen3",
  modelTypes: ["qwen3"],
  architectures: ["Qwen3ForCausalLM", "Qwen3Model"],
  parseConfig: parseQwen3Config,
  inputLimit: qwen3InputLimit,
  weightPrefixes: qwen3WeightPrefixes,
  tasks: ["embedding"],
  poolings: ["last", "mean"],
  // No token types: with "always" the input exists (for compilers that want three) and is unused.
  tokenTypeInput: (_config, always) => always,
  // Attention is plain ONNX ops whichever form is asked for (no com.microsoft kernel takes q/k norms and GQA as exported here).
  checkOptions: (config, options) =>
    options.seqlen !== undefined && options.seqlen > config.maxInputLength
      ? `seqlen ${options.seqlen} is longer than max_position_embeddings ${config.maxInputLength}`
      : undefined,
  buildGraph: buildQwen3Graph,
  reference: qwen3Reference,
  synth: qwen3Synth,
}
export { qwen3QueryInstruction, qwen3WebSearchTask } from "./instruction.ts"
export type { Qwen3Config } from "./config.ts"
