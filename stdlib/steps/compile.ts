// The compile step: ONNX Runtime's offline graph optimisation for this CPU, checking that the
// fusions the exporter's graph was built for happened, and pruning to the kept outputs.
// Kind: "onnx-model" → "onnx-model".
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { compileForCpu } from "../../src/runtime/index.ts"
import { attempt } from "./attempt.ts"
import { cpuPrint } from "./cpu-fingerprint.ts"

export const compile = defineStep({
  name: "compile",
  // 2: the last layer runs on the first token only whenever the kept outputs allow it.
  version: 2,
  params: z.object({
    /** "cpu": ONNX Runtime on this machine; "auto" picks it too until an accelerator toolchain is installed. */
    target: z.enum(["cpu", "auto"]).default("auto"),
    level: z.enum(["basic", "extended", "all"]).default("all"),
    /** Fusions whose absence is accepted, e.g. ["attention"] for a graph exported with plain ONNX attention. */
    allowMissing: z.array(z.enum(["attention", "skip-layer-norm", "int8-matmul"])).default([]),
    disabledOptimizers: z.array(z.string()).default([]),
    /**
     * Keep only these outputs, e.g. ["sentence_embedding"] (absent: every output). When the kept
     * outputs read only the first token (CLS pooling without last_hidden_state, a reranker's logits),
     * the last layer runs on that token only.
     */
    outputs: z.array(z.string().min(1)).min(1).optional(),
  }),
  inputs: { model: "onnx-model" },
  output: "onnx-model",
  // Graphs optimised at level "all" are tied to the ORT version and the CPU's instruction set.
  fingerprint: cpuPrint,
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const result = yield* attempt(
        () =>
          compileForCpu(ctx.inputs.model.path, ctx.outDir, {
            level: p.level,
            allowMissing: p.allowMissing,
            disabledOptimizers: p.disabledOptimizers,
            ...(p.outputs !== undefined ? { outputs: p.outputs } : {}),
          }),
        "a fusion ONNX Runtime should have made did not happen; check the exporter's graph, or list it in allowMissing",
      )
      yield* ctx.log(`fused ops: ${Object.entries(result.fusedOps).map(([op, n]) => `${op} ×${n}`).join(", ") || "none"}`)
      const pruning = result.pruning
      yield* ctx.log(`outputs: ${pruning.outputs.join(", ")}${pruning.dropped.length > 0 ? ` (dropped ${pruning.dropped.join(", ")})` : ""}`)
      yield* ctx.log(pruning.firstToken ? "first-token pruning: the last layer runs on the first token only" : `first-token pruning not applied: ${pruning.reason}`)
    }),
})
