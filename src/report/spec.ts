// What a pipeline asks its report to show beyond what the run itself says: rows pairing the nodes
// of one deployment (its evaluation, fidelity, benchmark, quantization) under a label, and the
// figure the model's publisher gave for that row. Kept in the run record (zod-checked when read),
// so `kiln report` regenerates the same report later. Without a spec, each evaluate / fidelity /
// bench / quantize node is a row of its own, labelled by its node id.
import { z } from "zod"

export const Published = z.object({ metric: z.string(), value: z.number(), source: z.string() })

export const ReportRow = z.object({
  label: z.string().min(1),
  evaluate: z.string().optional(),
  /** The embed node whose embeddings the evaluation read: where the deployment ran (evaluate itself runs no model). */
  embed: z.string().optional(),
  fidelity: z.string().optional(),
  bench: z.string().optional(),
  quantize: z.string().optional(),
  published: Published.optional(),
})
export type ReportRow = z.infer<typeof ReportRow>

export const ReportSpec = z.object({
  /** Heading of the report, e.g. "BAAI/bge-small-en-v1.5 int8". */
  title: z.string().optional(),
  rows: z.array(ReportRow).default([]),
})
export type ReportSpec = z.input<typeof ReportSpec>
