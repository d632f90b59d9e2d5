// The calibrate step: tokenizes dataset texts into a calibration set (vamc's npz samples, vamp
// inputs with a datalist, and what the local quantizer reads). Its own module, so its key covers
// only the code it runs — not the quantizer's.
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { readModelManifest } from "../../src/artifacts/index.ts"
import { writeCalibrationSet } from "../../src/calibration/index.ts"
import { defineStep } from "../../src/engine/index.ts"
import { distinctTexts, loadStsDataset } from "../../src/evaluate/index.ts"
import { loadTokenizer } from "../../src/tokenize/index.ts"
import { attempt, attemptSync, type StepErrorFields } from "./attempt.ts"

/** How the calibrate step fails: the dataset, tokenizer or writer's message, naming the file or field. */
export class CalibrateError extends Data.TaggedError("CalibrateError")<StepErrorFields> {}

export const calibrate = defineStep({
  name: "calibrate",
  // 2: vamp's npz keys are the vendor's BGE names (input_ids … attention_mask3), not input_0 … input_5.
  version: 2,
  params: z.object({
    samples: z.number().int().positive().max(100_000).default(100),
    /** Padded length of every sample; default the model's static seqlen, else 128. */
    seqlen: z.number().int().min(2).optional(),
  }),
  inputs: { model: "onnx-model", dataset: "sts-dataset" },
  main: "model",
  output: "calibration-set",
  run: (ctx) =>
    Effect.gen(function* () {
      const modelDir = ctx.inputs.model.path
      const manifest = yield* attemptSync(CalibrateError, () => readModelManifest(modelDir))
      const seqlen = ctx.params.seqlen ?? manifest.seqlen ?? 128
      const pairs = yield* attempt(CalibrateError, () => loadStsDataset(ctx.inputs.dataset.path))
      const tokenizer = yield* attempt(CalibrateError, () => loadTokenizer(modelDir, { maxLength: seqlen }))
      // Rerankers see (query, passage) pairs; embedders single texts.
      const batch = yield* attemptSync(CalibrateError, () =>
          manifest.task === "reranker"
            ? tokenizer.encodePairs(pairs.slice(0, ctx.params.samples).map((p) => [p.sentence1, p.sentence2] as const), { padding: "max_length", maxLength: seqlen })
            : tokenizer.encode(distinctTexts(pairs).slice(0, ctx.params.samples), { padding: "max_length", maxLength: seqlen }),
      )
      const written = yield* attempt(CalibrateError, async () => writeCalibrationSet(batch, ctx.outDir, { seqlen, padId: tokenizer.padTokenId }))
      yield* ctx.log(`calibration set: ${written.manifest.samples} samples at seqlen ${seqlen}`)
    }),
})
