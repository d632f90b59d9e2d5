// synthCheckpoint: a source step writing a seeded synthetic Hugging Face checkpoint (config.json,
// weights, tokenizer) — the offline stand-in for a downloaded BGE model in examples and tests.
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep, StepError } from "../../src/engine/index.ts"
import { synthesizeCheckpoint } from "../../src/synth/index.ts"

export const synthCheckpointParams = z.object({
  arch: z.enum(["bert", "xlm-roberta"]),
  size: z.enum(["tiny", "bge-small", "bge-base", "bge-large", "bge-reranker-base", "bge-m3"]).default("tiny"),
  task: z.enum(["embedding", "reranker", "m3"]).default("embedding"),
  outliers: z.boolean().default(false),
  seed: z.number().int().nonnegative().default(0),
  /** A real tokenizer folder to copy (vocab size follows it). Its path, not its content, is in the cache key. */
  tokenizerDir: z.string().min(1).optional(),
})

export const synthCheckpoint = defineStep({
  name: "synthCheckpoint",
  version: 1,
  params: synthCheckpointParams,
  inputs: {},
  output: "hf-checkpoint",
  resources: "cpu",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const written = yield* Effect.tryPromise({
        try: () =>
          synthesizeCheckpoint({
            arch: p.arch,
            size: p.size,
            task: p.task,
            outliers: p.outliers,
            seed: p.seed,
            out: ctx.outDir,
            ...(p.tokenizerDir !== undefined ? { tokenizerDir: p.tokenizerDir } : {}),
          }),
        catch: (cause) => new StepError({ message: cause instanceof Error ? cause.message : String(cause), hint: "check the synthCheckpoint params", cause }),
      })
      yield* ctx.log(`synthesized ${p.arch} ${p.size} (${p.task}): ${written.files.join(", ")}`)
    }),
})
