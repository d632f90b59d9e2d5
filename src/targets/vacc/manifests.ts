// The vacc target's own files: `vacc/model.json` in a compiled model folder (what vamc made, per
// seqlen, with the tool versions that made it) and `vacc-deployment.json` in a deployment (how the
// runner serves it). Paths are relative to the folder; versions, not hosts or times.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { TargetError } from "../errors.ts"

export const VACC_MODEL_FILE = "vacc/model.json"
export const VACC_DEPLOYMENT_FILE = "vacc-deployment.json"

const Compiled = z.strictObject({
  seqlen: z.number().int().positive(),
  /** The runtime prefix, <dir>/mod, relative to the folder. */
  prefix: z.string().min(1),
  /** The vamc config used, relative to the folder. */
  config: z.string().min(1),
})

export const VaccModel = z.strictObject({
  target: z.literal("vacc"),
  task: z.enum(["embedding", "reranker"]),
  dtype: z.enum(["fp16", "int8"]),
  hiddenSize: z.number().int().positive(),
  models: z.array(Compiled).min(1),
  /** vamc, vamp, vaststreamx, SDK and driver versions of the compile. */
  tools: z.record(z.string(), z.string()),
})
export type VaccModel = z.infer<typeof VaccModel>

export const VaccDeployment = z.strictObject({
  target: z.literal("vacc"),
  task: z.enum(["embedding", "reranker"]),
  dtype: z.enum(["fp16", "int8"]),
  hiddenSize: z.number().int().positive(),
  /** Smallest first; a batch runs on the smallest that holds its longest row. */
  models: z.array(Compiled).min(1),
  /** Texts are truncated to the largest compiled seqlen. */
  maxLength: z.number().int().positive(),
  /** vsx.Model batch size: rows per run_sync. */
  batch: z.number().int().positive(),
  /** BGE embeddings are the CLS row, L2-normalised; rerankers return the logit. */
  normalize: z.boolean(),
  instruction: z.string(),
  tools: z.record(z.string(), z.string()),
})
export type VaccDeployment = z.infer<typeof VaccDeployment>

export const readVaccJson = <T>(schema: z.ZodType<T>, dir: string, file: string): T => {
  const path = join(dir, file)
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, "utf8"))
  } catch (cause) {
    throw new TargetError({ target: "vacc", reason: "bad-input", message: `${path}: ${(cause as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `not valid JSON: ${(cause as Error).message}`}`, path, cause })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new TargetError({ target: "vacc", reason: "bad-input", message: `${path}: field "${issue.path.join(".") || "(root)"}": ${issue.message}`, path })
  }
  return parsed.data
}
