// The fidelity step: how closely a candidate deployment reproduces a reference deployment on an
// STS dataset, with an accuracy gate (floors and budgets) that fails the step when it drifts.
// Kind: "deployment" (+ reference "deployment") → "eval-report".
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { checkMaxDrop, checkMinimums, deploymentFidelity, evaluateSts, loadStsDataset } from "../../src/evaluate/index.ts"
import { attempt, type StepErrorFields } from "./attempt.ts"
import { evalParams } from "./evaluate.ts"
import { deploymentsFingerprint, deploymentsResources, deploymentTarget, runsOnDeployment } from "./on-target.ts"
import { withDeployments } from "./with-deployments.ts"
import { writeJson } from "./write-report.ts"

/** How the fidelity step fails: the runtime's or target's message, or the accuracy gate naming the metric, its value and the budget. */
export class FidelityError extends Data.TaggedError("FidelityError")<StepErrorFields> {}

export const fidelity = defineStep({
  name: "fidelity",
  version: 1,
  params: evalParams.extend({
    /** Budget per STS metric for the drop from the reference, e.g. { cosine_spearman: 0.005 }. */
    maxDrop: z.record(z.string(), z.number().nonnegative()).default({}),
    /** Floors for fidelity figures, e.g. { cosine_mean: 0.999, cosine_min: 0.99 } or { score_spearman: 0.995 }. */
    min: z.record(z.string(), z.number()).default({}),
  }),
  inputs: { deployment: "deployment", reference: "deployment", dataset: "sts-dataset" },
  main: "deployment",
  output: "eval-report",
  // The candidate's target is the step's; the reference may run elsewhere (a vacc model against
  // its fp32 export on ONNX Runtime). Tool versions of either device target count.
  fingerprint: (p, inputs) => deploymentsFingerprint([deploymentTarget(p.target, inputs.deployment), deploymentTarget("auto", inputs.reference)]),
  resources: (p, inputs) => deploymentsResources([deploymentTarget(p.target, inputs.deployment), deploymentTarget("auto", inputs.reference)]),
  runsOn: (_p, inputs) => runsOnDeployment(inputs.deployment),
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const pairs = yield* attempt(FidelityError, () => loadStsDataset(ctx.inputs.dataset.path, p.limit))
      const report = yield* withDeployments(FidelityError, [ctx.inputs.deployment.path, ctx.inputs.reference.path], p.threads, async ([candidate, reference], signal) => ({
        fidelity: await deploymentFidelity(candidate!, reference!, pairs, p.batchSize, signal),
        candidate: await evaluateSts(candidate!, pairs, p.batchSize, signal),
        reference: await evaluateSts(reference!, pairs, p.batchSize, signal),
      }))
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
