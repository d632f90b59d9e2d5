// synthCheckpoint: a source step writing a seeded synthetic Hugging Face checkpoint (config.json,
// weights, tokenizer) — the offline stand-in for a downloaded BGE model in examples and tests.
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { familyNamed, familyNames } from "../../src/families/index.ts"
import { synthesizeCheckpoint } from "../../src/synth/index.ts"
import { attempt, type StepErrorFields } from "./attempt.ts"

/** How the synthCheckpoint step fails: the synthesiser's message, naming the param or file. */
export class SynthCheckpointError extends Data.TaggedError("SynthCheckpointError")<StepErrorFields> {}

export const synthCheckpointParams = z
  .object({
    /** A registered model family ("bert", "xlm-roberta" …). */
    arch: z.string().refine((name) => familyNamed(name) !== undefined, { message: `expected one of ${familyNames().join(", ")}` }),
    /** One of the family's sizes. */
    size: z.string().default("tiny"),
    task: z.enum(["embedding", "reranker", "m3"]).default("embedding"),
    outliers: z.boolean().default(false),
    seed: z.number().int().nonnegative().default(0),
    /** A real tokenizer folder to copy (vocab size follows it). Its path, not its content, is in the cache key. */
    tokenizerDir: z.string().min(1).optional(),
  })
  .superRefine((p, context) => {
    const synth = familyNamed(p.arch)?.synth
    if (synth === undefined) return
    if (!synth.sizes.includes(p.size)) context.addIssue({ code: "custom", path: ["size"], message: `expected one of ${synth.sizes.join(", ")} for arch ${p.arch}` })
    if (!synth.tasks.includes(p.task)) context.addIssue({ code: "custom", path: ["task"], message: `expected one of ${synth.tasks.join(", ")} for arch ${p.arch}` })
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
      const written = yield* attempt(
        SynthCheckpointError,
        () =>
          synthesizeCheckpoint({
            arch: p.arch,
            size: p.size,
            task: p.task,
            outliers: p.outliers,
            seed: p.seed,
            out: ctx.outDir,
            ...(p.tokenizerDir !== undefined ? { tokenizerDir: p.tokenizerDir } : {}),
          }),
        "check the synthCheckpoint params",
      )
      yield* ctx.log(`synthesized ${p.arch} ${p.size} (${p.task}): ${written.files.join(", ")}`)
    }),
})
