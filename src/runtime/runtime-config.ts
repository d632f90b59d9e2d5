// runtime.json: how a deployment bundle is run — engine, session options, I/O names by role,
// pooling, normalisation, query instruction, max length, static or dynamic sequence length.
// Every path in it is relative to the bundle, so a moved bundle still loads.
import { isAbsolute, join } from "node:path"
import { z } from "zod"
import { describeIssues, readJsonFile } from "../schema/index.ts"
import { ModelTask } from "../artifacts/index.ts"
import { RuntimeError } from "./errors.ts"

export const RUNTIME_FILE = "runtime.json"

const RelativePath = z
  .string()
  .min(1)
  .refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes(".."), { message: "must be a path relative to the bundle, without '..'" })

export const InputRole = z.enum(["input_ids", "attention_mask", "token_type_ids"])
export type InputRole = z.infer<typeof InputRole>

export const SessionOptionsSpec = z.strictObject({
  /** "disabled" for graphs already optimised offline by the compile step; "all" otherwise. */
  graphOptimizationLevel: z.enum(["disabled", "basic", "extended", "all"]),
  executionMode: z.enum(["sequential", "parallel"]).default("sequential"),
  /** null: the loader's `threads` (default: every core). */
  intraOpNumThreads: z.number().int().positive().nullable().default(null),
  interOpNumThreads: z.number().int().positive().default(1),
  enableCpuMemArena: z.boolean().default(true),
  enableMemPattern: z.boolean().default(true),
  /** ORT session config entries, e.g. { "session.intra_op.allow_spinning": "0" }. */
  configEntries: z.record(z.string(), z.string()).default({}),
})
export type SessionOptionsSpec = z.infer<typeof SessionOptionsSpec>

const HostSpec = z.strictObject({ ort: z.string(), cpu: z.string(), features: z.array(z.string()) })

export const RuntimeConfig = z
  .strictObject({
    runtime: z.literal(1),
    engine: z.literal("onnxruntime"),
    /** onnxruntime-node version the bundle was written with. */
    engineVersion: z.string().min(1),
    task: ModelTask,
    model: RelativePath,
    externalData: RelativePath.nullable(),
    /** Folder holding tokenizer.json and tokenizer_config.json ("." for the bundle itself). */
    tokenizer: z.union([z.literal("."), RelativePath]),
    io: z.strictObject({
      inputs: z.array(z.strictObject({ name: z.string().min(1), role: InputRole, dtype: z.enum(["int64", "int32"]) })).min(2),
      /** Output names by role; a role the model lacks is absent. */
      outputs: z.strictObject({
        /** Pooled sentence embedding [batch, hidden] (sentence_embedding / dense_vecs). */
        dense: z.string().min(1).optional(),
        /** Token states [batch, seq, hidden] (last_hidden_state), pooled here when `dense` is absent. */
        tokens: z.string().min(1).optional(),
        /** m3 lexical weights [batch, seq]. */
        sparse: z.string().min(1).optional(),
        /** m3 multi-vector output [batch, seq-1, hidden]. */
        colbert: z.string().min(1).optional(),
        /** Reranker scores [batch, 1]. */
        logits: z.string().min(1).optional(),
      }),
      /** Fixed batch dimension of the graph (e.g. 1 for an accelerator-style export), null when dynamic. */
      batch: z.number().int().positive().nullable(),
    }),
    /** Fixed sequence length (inputs padded to it, "max_length"), or null for dynamic shapes (padded per batch). */
    seqlen: z.number().int().positive().nullable(),
    /** Texts are truncated to this many tokens, special tokens included. */
    maxLength: z.number().int().positive(),
    hiddenSize: z.number().int().positive(),
    pooling: z.enum(["cls", "mean", "last"]).nullable(),
    /** Whether the graph's `dense` output is already pooled and L2-normalised. */
    pooledInGraph: z.boolean(),
    normalize: z.boolean(),
    normalizedInGraph: z.boolean(),
    /** Prepended to queries (Embedder.embed with input "query"); "" for none. */
    instruction: z.string(),
    sessionOptions: SessionOptionsSpec,
    /** Host a level-"all" graph is tied to; the loader refuses another ORT version or a CPU lacking its features. */
    compiledFor: HostSpec.nullable(),
  })
  .superRefine((config, context) => {
    const roles = config.io.inputs.map((i) => i.role)
    for (const required of ["input_ids", "attention_mask"] as const) {
      if (!roles.includes(required)) context.addIssue({ code: "custom", path: ["io", "inputs"], message: `needs an input with role "${required}"` })
    }
    const outputs = config.io.outputs
    const need = (role: keyof typeof outputs, why: string) => {
      if (outputs[role] === undefined) context.addIssue({ code: "custom", path: ["io", "outputs", role], message: `required ${why}` })
    }
    if (config.task === "reranker") need("logits", "for task reranker")
    else if (outputs.dense === undefined) {
      need("tokens", `for task ${config.task} when io.outputs.dense is absent`)
      if (config.pooling === null) context.addIssue({ code: "custom", path: ["pooling"], message: "required (cls, mean or last) when the graph has no pooled dense output" })
    }
    if (config.seqlen !== null && config.maxLength > config.seqlen) {
      context.addIssue({ code: "custom", path: ["maxLength"], message: `${config.maxLength} exceeds the static seqlen ${config.seqlen}` })
    }
  })
export type RuntimeConfig = z.infer<typeof RuntimeConfig>


/** Validates runtime.json content; `where` (the file) prefixes the error, which names the field. */
export const parseRuntimeConfig = (json: unknown, where: string): RuntimeConfig => {
  const parsed = RuntimeConfig.safeParse(json)
  if (!parsed.success) throw new RuntimeError("invalid-bundle", `${where}: ${describeIssues(parsed.error, json, { schema: RuntimeConfig, rootName: "runtime.json", max: 1 })}`, { path: where })
  return parsed.data
}

/** Reads and validates `<bundleDir>/runtime.json`. */
export const readRuntimeConfig = (bundleDir: string): RuntimeConfig => {
  const path = join(bundleDir, RUNTIME_FILE)
  const json = readJsonFile(path, z.unknown(), "the runtime config", (error) =>
    new RuntimeError(
      "invalid-bundle",
      error.problem === "unreadable" ? `${error.message}: is this a deployment bundle? write one with writeBundle` : error.message,
      { path, cause: error },
    ),
  )
  return parseRuntimeConfig(json, path)
}

export const renderRuntimeConfig = (config: RuntimeConfig): string => JSON.stringify(RuntimeConfig.parse(config), null, 2) + "\n"
