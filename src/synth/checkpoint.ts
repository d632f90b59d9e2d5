// synthesizeCheckpoint: a seeded Hugging Face model folder (config.json, weights, tokenizer) of any
// registered model family, in the layout of a real model of that family (its recipe lives in
// src/families/<name>/). The offline stand-in for a downloaded model in examples, tests and benchmarks.

import { z } from "zod"
import { describeIssues } from "../schema/index.ts"
import { familyNamed, familyNames, type FamilyTask, type SynthesizedCheckpoint } from "../families/index.ts"
import { SynthError } from "../seeded/index.ts"

export type { SynthesizedCheckpoint }

/** Tasks a synthetic checkpoint can be laid out for (each family supports some). */
export const synthTasks = ["embedding", "reranker", "m3"] as const satisfies readonly FamilyTask[]

export interface SynthesizeCheckpointOptions {
  /** A registered family's name ("bert", "xlm-roberta" …). */
  readonly arch: string
  /** One of the family's sizes ("tiny" always exists). */
  readonly size: string
  readonly task: FamilyTask
  /** Plant a few large-magnitude hidden channels, like real BERT / XLM-R outlier features. */
  readonly outliers?: boolean
  /** Copy this real tokenizer folder instead of generating one; vocab_size follows it. */
  readonly tokenizerDir?: string
  readonly seed: number
  readonly out: string
  /** Stored weight dtype (default float32, as the real BGE checkpoints). */
  readonly dtype?: "float32" | "float16" | "bfloat16"
}

const optionsSchema = z
  .object({
    arch: z.string(),
    size: z.string(),
    task: z.enum(synthTasks),
    outliers: z.boolean().optional(),
    tokenizerDir: z.string().min(1).optional(),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    out: z.string().min(1),
    dtype: z.enum(["float32", "float16", "bfloat16"]).optional(),
  })
  .superRefine((options, context) => {
    const family = familyNamed(options.arch)
    if (family === undefined) {
      context.addIssue({ code: "custom", path: ["arch"], message: `expected one of ${familyNames().map((n) => `"${n}"`).join(", ")}, got "${options.arch}"` })
      return
    }
    const { sizes, tasks } = family.synth
    if (!sizes.includes(options.size)) {
      context.addIssue({ code: "custom", path: ["size"], message: `arch "${options.arch}" comes in sizes ${sizes.map((s) => `"${s}"`).join(", ")}, got "${options.size}"` })
    }
    if (!tasks.includes(options.task)) {
      context.addIssue({ code: "custom", path: ["task"], message: `arch "${options.arch}" has tasks ${tasks.map((t) => `"${t}"`).join(", ")}, got "${options.task}"` })
    }
    const problem = family.synth.check(options.size, options.task)
    if (problem !== undefined) context.addIssue({ code: "custom", path: ["size"], message: problem })
  })


/**
 * Writes a synthetic checkpoint folder with the family's recipe; the same options always give
 * byte-identical files.
 */
export const synthesizeCheckpoint = async (options: SynthesizeCheckpointOptions): Promise<SynthesizedCheckpoint> => {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    throw new SynthError("InvalidOptions", `synthesizeCheckpoint: invalid options: ${describeIssues(parsed.error, options, { schema: optionsSchema, rootName: "options" })}`)
  }
  const valid = parsed.data
  return familyNamed(valid.arch)!.synth.write({
    size: valid.size,
    task: valid.task,
    seed: valid.seed,
    out: valid.out,
    dtype: valid.dtype ?? "float32",
    outliers: valid.outliers === true,
    tokenizerDir: valid.tokenizerDir,
  })
}
