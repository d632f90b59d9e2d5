// The bench step: queries per second and latency of a deployment on this machine, over batch
// sizes and instance counts, written as bench.json and in vamp's text layout.
// Kind: "deployment" → "bench-report".
import { hostname } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep } from "../../src/engine/index.ts"
import { distinctTexts, loadStsDataset } from "../../src/evaluate/index.ts"
import { benchmark, bundleBenchTarget, cpuFingerprint, formatVampReport, openBundleSession } from "../../src/runtime/index.ts"
import { attempt } from "./attempt.ts"
import { cpuPrint } from "./cpu-fingerprint.ts"
import { writeJson } from "./write-report.ts"

export const bench = defineStep({
  name: "bench",
  version: 1,
  params: z.object({
    batch: z.array(z.number().int().positive()).min(1).default([1, 8]),
    instances: z.array(z.number().int().positive()).min(1).default([1]),
    threads: z.number().int().positive().default(2),
    warmup: z.number().int().nonnegative().default(2),
    seconds: z.number().positive().default(3),
    texts: z.number().int().positive().default(256),
  }),
  inputs: { deployment: "deployment", dataset: "sts-dataset" },
  main: "deployment",
  output: "bench-report",
  // Speed belongs to a machine: never serve another host's numbers from a shared cache.
  fingerprint: () => ({ ...cpuPrint(), host: hostname() }),
  // A measurement: nothing else may share the CPU while it runs.
  resources: "exclusive",
  run: (ctx) =>
    Effect.gen(function* () {
      const p = ctx.params
      const pairs = yield* attempt(() => loadStsDataset(ctx.inputs.dataset.path))
      const texts = distinctTexts(pairs).slice(0, p.texts)
      const pairInputs = pairs.slice(0, p.texts).map((x) => [x.sentence1, x.sentence2] as const)
      const dir = ctx.inputs.deployment.path
      const threadsPer = (n: number) => Math.max(1, Math.floor(p.threads / n))
      const open = (n: number) => openBundleSession(dir, { instances: n, threads: threadsPer(n) })
      const result = yield* attempt(async () => {
        const probe = await open(1)
        const task = probe.config.task
        await probe.close()
        const options = { batchSizes: p.batch, instances: p.instances, warmup: p.warmup, seconds: p.seconds }
        return task === "reranker"
          ? benchmark(bundleBenchTarget<readonly [string, string]>(open), pairInputs, options)
          : benchmark(bundleBenchTarget<string>(open), texts, options)
      })
      const vamp = formatVampReport(result)
      for (const line of vamp.split("\n")) yield* ctx.log(line)
      yield* writeJson(ctx.outDir, "bench.json", { ...result, host: cpuFingerprint(), threads: p.threads })
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "vamp.txt"), vamp + "\n"))
    }),
})
