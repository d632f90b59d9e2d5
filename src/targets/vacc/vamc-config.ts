// The YAML `vamc compile` reads, for BERT / XLM-R encoders (vendor-toolchain.md §1): built from a
// zod-validated config and rendered with the `yaml` package in a fixed key order, so the same
// inputs give the same bytes. Every path in it is relative to the directory vamc runs in: the
// config is stored with the compiled model, and an absolute scratch path would make it differ on
// every run (and point nowhere once the run is over).
import { Document, isScalar, visit } from "yaml"
import { z } from "zod"
import { VaccDatasetBlockSchema, VaccQuantizeBlockSchema } from "../../quant/vacc-config.ts"
import { TargetError } from "../errors.ts"

/** The three encoder inputs vamc's frontend sees, in the vendor's order. */
export const VAMC_INPUTS = ["input_ids", "attention_mask", "token_type_ids"] as const

/**
 * attention_split_num for a seqlen. The vendor's configs show 4 / 8 / 16 for 2048 / 4096 / 8192 and
 * leave it out up to 1024; that is seqlen / 512 (inferred rule). A seqlen past 1024 that is not a
 * multiple of 512 has no known split: an error, not a guess.
 */
export const attentionSplitNum = (seqlen: number): number | undefined => {
  if (seqlen <= 1024) return undefined
  if (seqlen % 512 !== 0) {
    throw new TargetError({
      target: "vacc",
      reason: "bad-config",
      message: `seqlen ${seqlen}: vamc needs attention_split_num past 1024 tokens and the vendor's configs only show it for multiples of 512 (2048 → 4, 4096 → 8, 8192 → 16)`,
      hint: "use a seqlen that is a multiple of 512, e.g. 2048",
    })
  }
  return seqlen / 512
}

const Shape = z.tuple([z.literal(1), z.number().int().positive()])

export const VamcCompileBlock = z.strictObject({
  cluster_mode: z.literal(0),
  data_type: z.literal(0),
  attention_split_num: z.number().int().positive().optional(),
  /** Embedding models only: "reranker模型，不需要指定output_layout". */
  output_layout: z.tuple([z.literal("0:YX")]).optional(),
  mem_inplace: z.literal(false),
})

export const VamcConfig = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, "a folder name (letters, digits, . _ -)"),
    frontend: z.strictObject({
      checkpoint: z.string().min(1),
      shape: z.strictObject({ input_ids: Shape, attention_mask: Shape, token_type_ids: Shape }),
      /** As the vendor's NLP configs write it (int64) whatever the ONNX inputs' type. */
      dtype: z.literal("int64"),
    }),
    backend: z.strictObject({
      type: z.literal("tvm_vacc"),
      dtype: z.enum(["fp16", "int8"]),
      compile: VamcCompileBlock,
      quantize: VaccQuantizeBlockSchema.optional(),
    }),
    dataset: VaccDatasetBlockSchema.optional(),
    workspace: z.strictObject({ path: z.string().min(1) }),
  })
  .superRefine((c, ctx) => {
    const int8 = c.backend.dtype === "int8"
    if (int8 && (c.backend.quantize === undefined || c.dataset === undefined))
      ctx.addIssue({ code: "custom", path: ["backend", "quantize"], message: "backend.dtype int8 needs a backend.quantize block and a dataset block" })
    if (!int8 && (c.backend.quantize !== undefined || c.dataset !== undefined))
      ctx.addIssue({ code: "custom", path: ["backend", "quantize"], message: "quantize and dataset blocks are for backend.dtype int8 only" })
    const lengths = new Set(Object.values(c.frontend.shape).map((s) => s[1]))
    if (lengths.size !== 1) ctx.addIssue({ code: "custom", path: ["frontend", "shape"], message: "every input must have the same [1, seqlen]" })
  })
export type VamcConfig = z.infer<typeof VamcConfig>

export interface VamcConfigInput {
  /** The compiled model's folder name under workspace.path. */
  readonly name: string
  /** ONNX file, relative to where vamc runs. */
  readonly checkpoint: string
  readonly seqlen: number
  readonly task: "embedding" | "reranker"
  readonly dtype: "fp16" | "int8"
  /** For int8: the quantize step's vacc blocks, dataset.path already relative to where vamc runs. */
  readonly quantize?: { readonly quantize: z.input<typeof VaccQuantizeBlockSchema>; readonly dataset: z.input<typeof VaccDatasetBlockSchema> }
  /** Default "./vacc_deploy", as the text2vec docs. */
  readonly workspace?: string
}

/** Builds and validates the config; a bad field is a TargetError naming it. */
export const vamcConfig = (input: VamcConfigInput): VamcConfig => {
  const split = attentionSplitNum(input.seqlen)
  const shape = [1, input.seqlen] as const
  const raw = {
    name: input.name,
    frontend: { checkpoint: input.checkpoint, shape: { input_ids: shape, attention_mask: shape, token_type_ids: shape }, dtype: "int64" },
    backend: {
      type: "tvm_vacc",
      dtype: input.dtype,
      compile: {
        cluster_mode: 0,
        data_type: 0,
        ...(split !== undefined ? { attention_split_num: split } : {}),
        ...(input.task === "embedding" ? { output_layout: ["0:YX"] } : {}),
        mem_inplace: false,
      },
      ...(input.quantize !== undefined ? { quantize: input.quantize.quantize } : {}),
    },
    ...(input.quantize !== undefined ? { dataset: input.quantize.dataset } : {}),
    workspace: { path: input.workspace ?? "./vacc_deploy" },
  }
  const parsed = VamcConfig.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new TargetError({ target: "vacc", reason: "bad-config", message: `vamc config: field "${issue.path.join(".")}": ${issue.message}` })
  }
  return parsed.data
}

/** The YAML text: keys in the order above, lists of scalars in flow style ([1, 512]) as the vendor writes them. */
export const renderVamcYaml = (config: VamcConfig): string => {
  const doc = new Document(VamcConfig.parse(config))
  visit(doc, {
    Seq(_key, node) {
      if (!node.items.every(isScalar)) return
      node.flow = true
      for (const item of node.items) if (isScalar(item) && typeof item.value === "string") item.type = "QUOTE_DOUBLE"
    },
  })
  return doc.toString({ flowCollectionPadding: false })
}
