// Target "vacc": VastAI cards through the vendor's tools — vamc compiles (compile.ts), the
// vaststreamx runner serves (session.ts, runner/vsx_runner.py), vamp measures (bench.ts). The tools
// are found by discovery.ts; without a card, kiln's stand-ins (stand-in/) play them.
import { cpSync, existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { TargetError } from "../errors.ts"
import type { Target } from "../target.ts"
import { benchVacc } from "./bench.ts"
import { compileForVacc, vaccCompileParams } from "./compile.ts"
import { probeToolchainCached, requireToolchain, toolchainFingerprint } from "./discovery.ts"
import { readVaccJson, VACC_DEPLOYMENT_FILE, VACC_MODEL_FILE, type VaccDeployment, VaccModel } from "./manifests.ts"
import { openVaccSession } from "./session.ts"

/** Rows per run_sync (vsx.Model's batch size); larger batches are split. */
const RUNNER_BATCH = 32
const TOKENIZER_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt", "sentencepiece.bpe.model"]

const toolchain = Effect.try({ try: () => requireToolchain(), catch: (e) => e as TargetError })

const describe = (p: { ok: true; value: { path: string; version: string; standIn: boolean } } | { ok: false; error: TargetError }): string =>
  p.ok ? `${p.value.version}${p.value.standIn ? "  [STAND-IN, not the vendor's]" : ""}  (${p.value.path})` : `MISSING — ${p.error.message}${p.error.hint ? `\n      fix: ${p.error.hint}` : ""}`

export const vaccTarget = {
  name: "vacc",
  resources: "device",
  compileParams: vaccCompileParams,
  availability: () => {
    try {
      const t = requireToolchain()
      const standIn = [t.vamc, t.vamp, t.python].some((x) => x.standIn)
      return { available: true, summary: `${t.vamc.version}; ${t.python.version}; dies ${t.devices.join(", ")}${standIn ? " (stand-ins)" : ""}` }
    } catch (e) {
      return { available: false, summary: (e as Error).message }
    }
  },
  fingerprint: () => toolchainFingerprint(requireToolchain()),
  ownsModel: (dir) => existsSync(join(dir, VACC_MODEL_FILE)),
  ownsDeployment: (dir) => existsSync(join(dir, VACC_DEPLOYMENT_FILE)),
  compile: (request) => Effect.flatMap(toolchain, (t) => compileForVacc(request, t, {})),
  deploy: ({ modelDir, outDir, params }) =>
    Effect.try({
      try: () => {
        const model = readVaccJson(VaccModel, modelDir, VACC_MODEL_FILE)
        const largest = model.models[model.models.length - 1]!.seqlen
        if (params.maxLength !== undefined && params.maxLength > largest)
          throw new TargetError({ target: "vacc", reason: "bad-input", message: `deploy: maxLength ${params.maxLength} is longer than the largest compiled seqlen ${largest}` })
        const copied = TOKENIZER_FILES.filter((f) => existsSync(join(modelDir, f)))
        if (!copied.includes("tokenizer.json")) throw new TargetError({ target: "vacc", reason: "bad-input", message: `${modelDir}: no tokenizer.json to deploy with the compiled model` })
        for (const f of copied) cpSync(join(modelDir, f), join(outDir, f))
        cpSync(join(modelDir, "vacc"), join(outDir, "vacc"), { recursive: true })
        const deployment: VaccDeployment = {
          target: "vacc",
          task: model.task,
          dtype: model.dtype,
          hiddenSize: model.hiddenSize,
          models: model.models,
          maxLength: params.maxLength ?? largest,
          batch: RUNNER_BATCH,
          normalize: model.task !== "reranker",
          instruction: params.instruction ?? "",
          tools: model.tools,
        }
        writeFileSync(join(outDir, VACC_DEPLOYMENT_FILE), JSON.stringify(deployment, null, 2) + "\n")
        return { task: model.task, files: copied.length + 1 }
      },
      catch: (e) => (e instanceof TargetError ? e : new TargetError({ target: "vacc", reason: "bad-input", message: (e as Error).message, cause: e })),
    }),
  openSession: (dir) => Effect.flatMap(toolchain, (t) => openVaccSession(dir, t, {})),
  bench: (request) => Effect.flatMap(toolchain, (t) => benchVacc(request, t, {})),
  doctor: () => {
    const r = probeToolchainCached()
    return [
      `vamc:        ${describe(r.vamc)}`,
      `vamp:        ${describe(r.vamp)}`,
      `vaststreamx: ${describe(r.python)}`,
      `SDK:         ${r.sdkVersion ?? `not found (${r.sdkVersionFile}; set KILN_VASTSTREAM_DIR)`}`,
      `driver:      ${r.driverVersion ?? "not found"}`,
      `dies:        ${r.devices.length > 0 ? r.devices.join(", ") : `none under ${r.deviceDir} (set KILN_VACC_DEV_DIR; VACC_VISIBLE_DEVICES filters)`}`,
    ]
  },
} satisfies Target
