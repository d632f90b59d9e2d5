// The fidelity step: how closely a candidate deployment reproduces a reference deployment on an
// STS dataset, read from both deployments' embeddings of it (no model runs here), with an accuracy
// gate (floors and budgets) that fails the step when it drifts. eval.json carries the figures, the
// per-text distribution and the worst texts, for the report.
// Kind: "embeddings" (+ reference "embeddings", "sts-dataset") → "eval-report".
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { checkMaxDrop, checkMinimums, fidelityOfEmbeddings, loadStsDataset, readEmbeddings, stsOfEmbeddings } from "../../src/evaluate/index.ts"
import { attempt, attemptSync, type StepErrorFields } from "./attempt.ts"
import { readParams } from "./evaluate.ts"
import { writeJson } from "./write-report.ts"

/** How the fidelity step fails: the artifact's message, or the accuracy gate naming the metric, its value and the budget. */
export class FidelityError extends Data.TaggedError("FidelityError")<StepErrorFields> {}

export const fidelity = defineStep({
  name: "fidelity",
  version: 2,
  params: readParams.extend({
    /** Budget per STS metric for the drop from the reference, e.g. { cosine_spearman: 0.005 }. */
    maxDrop: z.record(z.string(), z.number().nonnegative()).default({}),
    /** Floors for fidelity figures, e.g. { cosine_mean: 0.999, cosine_min: 0.99 } or { score_spearman: 0.995 }. */
    min: z.record(z.string(), z.number()).default({}),
  }),
  inputs: { embeddings: "embeddings", reference: "embeddings", dataset: "sts-dataset" },
  main: "embeddings",
  output: "eval-report",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const pairs = yield* attempt(FidelityError, () => loadStsDataset(ctx.inputs.dataset.path, p.limit))
      const report = yield* attemptSync(FidelityError, () => {
        const candidate = readEmbeddings(ctx.inputs.embeddings.path)
        const reference = readEmbeddings(ctx.inputs.reference.path)
        const f = fidelityOfEmbeddings(candidate, reference, pairs)
        return { fidelity: f.metrics, candidate: stsOfEmbeddings(candidate, pairs), reference: stsOfEmbeddings(reference, pairs), distribution: f.distribution, worst: f.worst }
      })
      const violations = [...checkMinimums(report.fidelity, p.min), ...checkMaxDrop(report.candidate, report.reference, p.maxDrop)]
      yield* ctx.log(`fidelity: ${JSON.stringify(report.fidelity)}`)
      yield* ctx.log(`STS candidate ${report.candidate.main_score?.toFixed(5)} vs reference ${report.reference.main_score?.toFixed(5)}`)
      if (violations.length > 0) {
        return yield* new FidelityError({
          message: `accuracy gate failed: ${violations.map((v) => v.message).join("; ")}`,
          hint: "the candidate lost more accuracy than the budget allows; keep more layers in float or relax the budget",
        })
      }
      yield* writeJson(FidelityError, ctx.outDir, "eval.json", { kind: "fidelity", ...report, gate: { maxDrop: p.maxDrop, min: p.min, passed: true } })
    }),
})
