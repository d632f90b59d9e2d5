// What an export is asked for, validated at the boundary (library call, CLI, pipeline step).
import { z } from "zod"
import { describeIssue, formatIssuePath } from "../schema/index.ts"
import { ExportError } from "../graph/index.ts"

export const ExportTask = z.enum(["embedding", "reranker", "m3"])
export type ExportTask = z.infer<typeof ExportTask>

/** Options shared by the library call, the CLI and the pipeline step (paths excluded). */
export const ExportSettings = z.object({
  task: ExportTask,
  /** Static [batch, seqlen] inputs (what accelerator compilers want); omitted → dynamic [batch, sequence]. */
  seqlen: z.number().int().min(2).optional(),
  /** A fixed batch dimension (accelerator exports: 1); omitted → symbolic "batch". */
  batch: z.number().int().positive().optional(),
  dtype: z.enum(["fp32", "fp16"]).default("fp32"),
  /** int32 input ids and masks instead of int64. */
  int32Inputs: z.boolean().default(false),
  /** "auto": a token_type_ids input only when type_vocab_size > 1; "always": also for XLM-R. */
  tokenTypeIds: z.enum(["auto", "always"]).default("auto"),
  /** Pooling of `sentence_embedding` (task "embedding"); default the family's (CLS for BGE). m3's dense vector is always CLS. */
  pooling: z.enum(["cls", "mean", "last"]).optional(),
  /** "contrib": com.microsoft:Attention (ORT fuses it on CPU); "onnx": plain ONNX ops for other compilers. */
  attention: z.enum(["contrib", "onnx"]).default("contrib"),
  opset: z.number().int().min(17).max(21).default(17),
})
export type ExportSettings = z.output<typeof ExportSettings>

export interface ExportProgress {
  /** Bytes of weights written so far, of `total`. */
  readonly done: number
  readonly total: number
  /** The initializer just written. */
  readonly tensor: string
}

export interface ExportEncoderOptions extends z.input<typeof ExportSettings> {
  readonly checkpointDir: string
  readonly outDir: string
  readonly onProgress?: (progress: ExportProgress) => void
  /** "auto" (default): weights go to onnx/model.onnx_data only past 2 GB; "always": whatever the size. */
  readonly externalData?: "auto" | "always"
  /** Stops the export before the next weight is streamed when aborted (Ctrl-C); throws its AbortError. */
  readonly signal?: AbortSignal
}

export const parseExportSettings = (input: unknown): ExportSettings => {
  const parsed = ExportSettings.safeParse(input)
  if (!parsed.success) {
    const message = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `option "${formatIssuePath(issue.path) || "(options)"}" ${describeIssue(issue, input, { schema: ExportSettings, subject: false })}`)
      .join("; ")
    throw new ExportError("InvalidOptions", `exportEncoder: ${message}`)
  }
  return parsed.data
}
