// compile on vacc: one `vamc compile` per seqlen, each in its own scratch work dir laid out so that
// the YAML's relative paths mean the same whether vamc resolves them against its working directory
// or the YAML's folder (the vendor's docs do not say; they run `cd workspace; vamc compile …`):
//   <work>/model.onnx        the model with its primary output only (last_hidden_state / logits)
//   <work>/calibration/      int8: the quantize step's copy of calibrate's vamc npz samples
//   <work>/vamc.yaml         from vamcConfig (byte-stable)
//   <work>/vacc_deploy/<name>/mod.{so,json,params}   what vamc writes
// The artifact keeps, per seqlen, vacc/<L>/mod.* and the vamc.yaml used, and vacc/model.json with the
// tool versions; the model folder's tokenizer and config files come along for deploy.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { parse } from "yaml"
import { z } from "zod"
import { type ModelManifest, OUTPUT_NAMES, readModelManifest } from "../../artifacts/index.ts"
import { readModel, writeModel } from "../../onnx/index.ts"
import { VaccDatasetBlockSchema, VaccQuantizeBlockSchema } from "../../quant/vacc-config.ts"
import { keepOutputs } from "../../runtime/index.ts"
import { TargetError } from "../errors.ts"
import type { CompileRequest } from "../target.ts"
import type { VaccToolchain } from "./discovery.ts"
import { toolchainFingerprint } from "./discovery.ts"
import { VACC_MODEL_FILE, type VaccModel } from "./manifests.ts"
import { runTool } from "./run-tool.ts"
import { renderVamcYaml, vamcConfig } from "./vamc-config.ts"

/** What the quantize step (target "vacc") leaves beside the model: vamc's blocks and the npz samples. */
export const VAMC_QUANTIZE_FILE = "vamc-quantize.yaml"
export const VAMC_CALIBRATION_DIR = "vamc-calibration"

export const vaccCompileParams = {
  /**
   * vacc: compile one model per seqlen, e.g. [512, 1024, 2048, 4096, 8192]; the runtime runs each
   * batch on the smallest that holds it. Default: the model's static seqlen. Several need a model
   * exported without a fixed seqlen.
   */
  seqlens: z.array(z.number().int().min(2)).min(1).optional(),
}
const Params = z.object(vaccCompileParams)

const fail = (message: string, hint?: string) => new TargetError({ target: "vacc", reason: "bad-input", message, ...(hint !== undefined ? { hint } : {}) })

const attemptSync = <A>(f: () => A, wrap: (cause: unknown) => TargetError) => Effect.try({ try: f, catch: (cause) => (cause instanceof TargetError ? cause : wrap(cause)) })

const deviceTask = (manifest: ModelManifest, where: string): "embedding" | "reranker" => {
  if (manifest.task === "m3")
    throw fail(`${where}: task m3 has no device form; export bge-m3 with task "embedding" for the card (the vendor compiles its dense CLS output only)`)
  if (!manifest.inputs.some((i) => i.name === "token_type_ids"))
    throw fail(`${where}: the model has no token_type_ids input; the compiled BERT model takes input_ids, attention_mask, token_type_ids`, `export with the device preset (tokenTypeIds: "always")`)
  return manifest.task
}

const seqlensFor = (manifest: ModelManifest, asked: readonly number[] | undefined, where: string): number[] => {
  const seqlens = [...new Set(asked ?? (manifest.seqlen !== null ? [manifest.seqlen] : []))].sort((a, b) => a - b)
  if (seqlens.length === 0) throw fail(`${where}: the model has a dynamic sequence length and no seqlens were given`, "pass compile({ target: \"vacc\", seqlens: [512] }) or export with a static seqlen")
  if (manifest.seqlen !== null && seqlens.some((l) => l !== manifest.seqlen))
    throw fail(`${where}: the model was exported at static seqlen ${manifest.seqlen} but seqlens ${JSON.stringify(seqlens)} were asked for`, "export without a fixed seqlen to compile several")
  if (seqlens[seqlens.length - 1]! > manifest.maxLength) throw fail(`${where}: seqlen ${seqlens[seqlens.length - 1]} is longer than the model's ${manifest.maxLength} positions`)
  return seqlens
}

const quantizeBlocks = (modelDir: string) => {
  const path = join(modelDir, VAMC_QUANTIZE_FILE)
  if (!existsSync(path)) return undefined
  const raw = parse(readFileSync(path, "utf8")) as { quantize?: unknown; dataset?: unknown }
  const quantize = VaccQuantizeBlockSchema.safeParse(raw?.quantize)
  const dataset = VaccDatasetBlockSchema.safeParse(raw?.dataset)
  if (!quantize.success || !dataset.success) throw fail(`${path}: not the quantize step's vamc blocks (${(quantize.error ?? dataset.error)!.issues[0]!.message})`)
  if (!existsSync(join(modelDir, VAMC_CALIBRATION_DIR))) throw fail(`${modelDir}: ${VAMC_QUANTIZE_FILE} but no ${VAMC_CALIBRATION_DIR}/ with the calibration samples`)
  return { quantize: quantize.data, dataset: { ...dataset.data, path: "./calibration" } }
}

export const compileForVacc = (request: CompileRequest, toolchain: VaccToolchain, env: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const { modelDir, outDir, tmpDir, log } = request
    const params = Params.parse(request.params)
    const bad = (cause: unknown) => fail(`${modelDir}: ${(cause as Error).message}`)
    const manifest = yield* attemptSync(() => readModelManifest(modelDir), bad)
    const task = yield* attemptSync(() => deviceTask(manifest, modelDir), bad)
    const seqlens = yield* attemptSync(() => seqlensFor(manifest, params.seqlens, modelDir), bad)
    const quantize = yield* attemptSync(() => quantizeBlocks(modelDir), bad)
    const dtype = quantize === undefined ? "fp16" : "int8"
    if (quantize !== undefined && seqlens.length > 1) return yield* fail(`int8 compiles one seqlen (the calibration set's); got ${JSON.stringify(seqlens)}`, "compile int8 models one seqlen at a time")

    // vamc gets the primary output only: CLS is read from last_hidden_state, rerankers give logits.
    const primary = OUTPUT_NAMES[task][0]
    const input = join(tmpDir, "vamc-input")
    yield* Effect.tryPromise({
      try: async () => {
        const { model } = keepOutputs(await readModel(join(modelDir, manifest.model)), [primary])
        await writeModel(model, join(input, "model.onnx"))
      },
      catch: (cause) => fail(`${modelDir}: cannot prepare the ONNX model for vamc: ${(cause as Error).message}`),
    })
    yield* log(`vamc ${toolchain.vamc.version}${toolchain.vamc.standIn ? " (STAND-IN: nothing is compiled)" : ""}: ${dtype}, seqlens ${seqlens.join(", ")}, output ${primary}`)

    const models: VaccModel["models"] = []
    for (const seqlen of seqlens) {
      const work = join(tmpDir, `vamc-${seqlen}`)
      const name = `model-${seqlen}-${dtype}`
      mkdirSync(work, { recursive: true })
      cpSync(input, work, { recursive: true })
      if (quantize !== undefined) cpSync(join(modelDir, VAMC_CALIBRATION_DIR), join(work, "calibration"), { recursive: true })
      const yaml = renderVamcYaml(yield* attemptSync(() => vamcConfig({ name, checkpoint: "./model.onnx", seqlen, task, dtype, ...(quantize !== undefined ? { quantize } : {}) }), bad))
      writeFileSync(join(work, "vamc.yaml"), yaml)
      yield* runTool("vamc", toolchain.vamc.path, ["compile", "vamc.yaml"], { cwd: work, env, log, hint: "vamc rejected the config or the model; its message is above (the YAML is in the step log)" })
      const built = join(work, "vacc_deploy", name)
      for (const file of ["mod.so", "mod.json", "mod.params"])
        if (!existsSync(join(built, file))) return yield* new TargetError({ target: "vacc", reason: "bad-output", message: `vamc exited 0 but wrote no ${join("vacc_deploy", name, file)} (its workspace holds: ${existsSync(built) ? readdirSync(built).join(", ") : "nothing"})` })
      const target = join(outDir, "vacc", String(seqlen))
      cpSync(built, target, { recursive: true })
      writeFileSync(join(target, "vamc.yaml"), yaml)
      models.push({ seqlen, prefix: `vacc/${seqlen}/mod`, config: `vacc/${seqlen}/vamc.yaml` })
      yield* log(`compiled seqlen ${seqlen} → vacc/${seqlen}/mod`)
    }
    // Tokenizer, config and kiln.json come along; the ONNX and the quantize step's files do not.
    for (const entry of readdirSync(modelDir)) {
      if (entry === "onnx" || entry === VAMC_QUANTIZE_FILE || entry === VAMC_CALIBRATION_DIR) continue
      cpSync(join(modelDir, entry), join(outDir, entry), { recursive: true })
    }
    const record: VaccModel = { target: "vacc", task, dtype, hiddenSize: manifest.hiddenSize, models, tools: toolchainFingerprint(toolchain) }
    writeFileSync(join(outDir, VACC_MODEL_FILE), JSON.stringify(record, null, 2) + "\n")
  })
