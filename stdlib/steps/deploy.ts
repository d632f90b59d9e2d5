// The deploy step: a self-contained bundle (model, tokenizer, config) that serves embeddings or
// reranker scores without kiln. Kind: "onnx-model" → "deployment".
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { writeBundle } from "../../src/runtime/index.ts"
import { attempt } from "./attempt.ts"

export const deploy = defineStep({
  name: "deploy",
  version: 1,
  params: z.object({
    instruction: z.string().optional(),
    maxLength: z.number().int().positive().optional(),
    threads: z.number().int().positive().optional(),
  }),
  inputs: { model: "onnx-model" },
  output: "deployment",
  resources: "io",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const bundle = yield* attempt(() =>
        writeBundle(ctx.inputs.model.path, ctx.outDir, {
          ...(p.instruction !== undefined ? { instruction: p.instruction } : {}),
          ...(p.maxLength !== undefined ? { maxLength: p.maxLength } : {}),
          ...(p.threads !== undefined ? { sessionOptions: { intraOpNumThreads: p.threads } } : {}),
        }),
      )
      yield* ctx.log(`bundle: ${bundle.files.length} files, task ${bundle.config.task}`)
    }),
})
