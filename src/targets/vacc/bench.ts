// bench on vacc: vamp measures the deployment's compiled model, fed the bench texts as the vendor's
// BGE scripts feed it — six int32 [1, L] arrays per sample written by the same code as calibrate's
// vamp inputs (keys input_ids … attention_mask3), an absolute datalist, the vdsp params JSON — with
// the flags and environment the docs use. Each (batch, instances) run's output block is parsed
// whole into the bench report every target writes.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { absoluteDatalist, writeCalibrationSet } from "../../calibration/index.ts"
import { loadTokenizer } from "../../tokenize/index.ts"
import type { BenchConfigReport, BenchReport } from "../bench-report.ts"
import { TargetError } from "../errors.ts"
import type { BenchRequest } from "../target.ts"
import { acquireDie } from "./die-pool.ts"
import type { VaccToolchain } from "./discovery.ts"
import { readVaccJson, VACC_DEPLOYMENT_FILE, VaccDeployment } from "./manifests.ts"
import { runTool } from "./run-tool.ts"
import { pickSeqlen } from "./session.ts"
import { parseVampOutput } from "./vamp-output.ts"

/** vdsp params for BGE (VastModelZOO bge/build_in/vdsp_params/embedding-vdsp_params.json). */
export const BERT_VDSP_PARAMS = { OpType: "BERT_EMBEDDING_OP" } as const

export const benchVacc = (request: BenchRequest, toolchain: VaccToolchain, env: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const { deploymentDir: dir, tmpDir, params: p, log } = request
    const d = yield* Effect.try({ try: () => readVaccJson(VaccDeployment, dir, VACC_DEPLOYMENT_FILE), catch: (e) => e as TargetError })
    const reranker = d.task === "reranker"
    const inputsDir = join(tmpDir, "vamp-inputs")
    const { seqlen, count } = yield* Effect.tryPromise({
      try: async () => {
        const tokenizer = await loadTokenizer(dir, { maxLength: d.maxLength })
        const encode = (padding: "longest" | "max_length", maxLength?: number) =>
          reranker
            ? tokenizer.encodePairs(request.pairs, { padding, ...(maxLength !== undefined ? { maxLength } : {}) })
            : tokenizer.encode(request.texts, { padding, ...(maxLength !== undefined ? { maxLength } : {}) })
        const longest = encode("longest").dims[1]
        const seqlen = pickSeqlen(d.models.map((m) => m.seqlen), longest) ?? d.models[d.models.length - 1]!.seqlen
        const set = writeCalibrationSet(encode("max_length", seqlen), inputsDir, { seqlen, padId: tokenizer.padTokenId })
        return { seqlen, count: set.manifest.samples }
      },
      catch: (cause) => new TargetError({ target: "vacc", reason: "bad-input", message: `bench inputs for ${dir}: ${(cause as Error).message}`, cause }),
    })
    const datalist = join(tmpDir, "vamp_npz_list.txt")
    absoluteDatalist(inputsDir, datalist)
    const vdsp = join(tmpDir, "embedding-vdsp_params.json")
    writeFileSync(vdsp, JSON.stringify(BERT_VDSP_PARAMS, null, 2) + "\n")
    const prefix = join(dir, d.models.find((m) => m.seqlen === seqlen)!.prefix)
    const die = yield* acquireDie(toolchain.devices)
    const shapes = JSON.stringify(Array.from({ length: 6 }, () => [1, seqlen]))
    yield* log(`vamp ${toolchain.vamp.version}${toolchain.vamp.standIn ? " (STAND-IN: CPU figures)" : ""} on die ${die}, seqlen ${seqlen}, ${count} inputs`)

    const configs: BenchConfigReport[] = []
    const blocks: string[] = []
    for (const instances of p.instances) {
      for (const batch of p.batch) {
        const iterations = p.iterations ?? Math.max(1, Math.ceil(count / batch))
        const args = ["-m", prefix, "--vdsp_params", vdsp, "-d", String(die), "-i", String(instances), "-p", "1", "-b", String(batch), "-s", shapes, "--datalist", datalist, "--iterations", String(iterations)]
        const run = yield* runTool("vamp", toolchain.vamp.path, args, { cwd: tmpDir, env: { ...env, VSX_DISABLE_DEEPBIND: "1" }, log, hint: "vamp could not profile the model; its message is above" })
        const r = yield* Effect.try({ try: () => parseVampOutput(run.stdout), catch: (e) => e as TargetError })
        blocks.push(run.stdout.trim())
        configs.push({
          batch: r.batch,
          instances: r.instances,
          requests: Math.max(1, Math.round(r.samples / r.batch)),
          qps: r.qps,
          latency: { avg: r.e2e.avg, min: r.e2e.min, max: r.e2e.max, p50: null, p90: null, p95: null, p99: null },
          modelLatency: { avg: r.model.avg },
          aiUtilizePercent: r.aiUtilizePercent,
          dieMemoryMB: r.dieMemoryMB,
        })
      }
    }
    const report: BenchReport = { target: "vacc", device: String(die), inputs: count, configs, details: { seqlen, tools: { vamp: toolchain.vamp.version, sdk: toolchain.sdkVersion ?? "none", driver: toolchain.driverVersion ?? "none" }, standIn: toolchain.vamp.standIn } }
    return { report, text: blocks.join("\n\n") + "\n" }
  })
