// exportOnnx: the pipeline step around src/export — an "hf-checkpoint" folder in, an "onnx-model"
// folder (transformers.js layout + kiln.json) out. The output depends on the params, the input
// digest and the exporter version (its fingerprint), so a re-run with the same inputs is a cache hit.
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { EXPORTER_VERSION, ExportError, exportEncoder } from "../../src/export/index.ts"
import type { StepErrorFields } from "./attempt.ts"

/** How the exportOnnx step fails: the exporter's message (naming the file, field or tensor) and a hint by its reason. */
export class ExportOnnxError extends Data.TaggedError("ExportOnnxError")<StepErrorFields> {}

export const exportOnnxParams = z.object({
  task: z.enum(["embedding", "reranker", "m3"]),
  /** Static [batch, seqlen] inputs, as accelerator compilers want; omitted → dynamic. */
  seqlen: z.number().int().min(2).optional(),
  /** A fixed batch dimension (1 for accelerators); omitted → dynamic. */
  batch: z.number().int().positive().optional(),
  dtype: z.enum(["fp32", "fp16"]).default("fp32"),
  int32: z.boolean().default(false),
  /** Omitted: the model family's default (CLS for BGE, last token for Qwen3-Embedding). */
  pooling: z.enum(["cls", "mean", "last"]).optional(),
  tokenTypeIds: z.enum(["auto", "always"]).default("auto"),
  /** "onnx" for compilers that do not know com.microsoft:Attention. */
  attention: z.enum(["contrib", "onnx"]).default("contrib"),
})

export const exportOnnx = defineStep({
  name: "exportOnnx",
  version: 1,
  params: exportOnnxParams,
  inputs: { checkpoint: "hf-checkpoint" },
  output: "onnx-model",
  fingerprint: () => ({ exporter: EXPORTER_VERSION }),
  resources: "cpu",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      yield* ctx.log(`exporting ${ctx.inputs.checkpoint.path} (task ${p.task}, ${p.dtype}, ${p.seqlen === undefined ? "dynamic" : `seqlen ${p.seqlen}`})`)
      const result = yield* Effect.tryPromise({
        try: (signal) =>
          exportEncoder({
            checkpointDir: ctx.inputs.checkpoint.path,
            outDir: ctx.outDir,
            task: p.task,
            ...(p.seqlen !== undefined ? { seqlen: p.seqlen } : {}),
            ...(p.batch !== undefined ? { batch: p.batch } : {}),
            dtype: p.dtype,
            int32Inputs: p.int32,
            ...(p.pooling !== undefined ? { pooling: p.pooling } : {}),
            tokenTypeIds: p.tokenTypeIds,
            attention: p.attention,
            onProgress: ({ done, total }) => void Effect.runFork(ctx.progress(done, total)),
            signal,
          }),
        catch: (cause) =>
          new ExportOnnxError({
            message: cause instanceof Error ? cause.message : String(cause),
            hint:
              cause instanceof ExportError && (cause.reason === "MissingWeight" || cause.reason === "WeightShape")
                ? "the checkpoint does not match its config.json; re-download it or check the upstream step"
                : cause instanceof ExportError && cause.reason === "InvalidOptions"
                  ? "fix the exportOnnx params"
                  : cause instanceof ExportError && cause.reason === "InvalidTokenizer"
                    ? "the checkpoint's tokenizer files do not fit its model; copy the model's own tokenizer files"
                    : undefined,
            cause,
          }),
      })
      for (const warning of result.warnings) yield* ctx.log(`warning: ${warning}`)
      const m = result.manifest
      yield* ctx.log(`wrote ${m.model}${m.externalData ? ` + ${m.externalData}` : ""}: inputs ${m.inputs.map((i) => i.name).join(", ")}; outputs ${m.outputs.map((o) => o.name).join(", ")}`)
    }),
})
