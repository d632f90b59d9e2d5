// `kiln export <checkpoint dir> …`: exports a checkpoint folder from the command line. Flags are
// validated with zod; a bad flag gives a usage error naming it, and nothing is written.
import { parseArgs } from "node:util"
import { z } from "zod"
import { ExportError } from "../graph/index.ts"
import { describeFlagIssues } from "../schema/index.ts"
import { exportEncoder } from "./export-encoder.ts"

export const EXPORT_USAGE = `Usage: kiln export <checkpoint dir> --task TASK --out DIR [options]

Exports a Hugging Face checkpoint of a model family kiln knows (BGE embedding, reranker or bge-m3
models …) to an ONNX folder in the transformers.js layout: config.json, tokenizer files, onnx/model.onnx
(onnx/model_fp16.onnx for --dtype fp16; + …_data past 2 GB) and kiln.json.

Required:
  --task embedding|reranker|m3
  --out DIR                      output folder (created if missing)

Options:
  --seqlen N                     static [batch, N] inputs (accelerator compilers); default dynamic
  --dtype fp32|fp16              weight type (default fp32)
  --int32                        int32 inputs instead of int64
  --pooling cls|mean|last        sentence_embedding pooling for --task embedding (default: the family's, cls for BGE)
  --token-type-ids auto|always   always: a token_type_ids input even when type_vocab_size is 1
  --attention contrib|onnx       contrib: com.microsoft:Attention (fused by ONNX Runtime, default);
                                 onnx: standard ops only, for compilers without Microsoft ops
  --opset N                      default 17
  --quiet                        no progress output
  --help                         show this help`

// Flag values arrive as text; numbers are coerced, then checked ("--seqlen must be ≥ 2, got \"1\"").
const argsSchema = z.object({
  task: z.enum(["embedding", "reranker", "m3"]),
  out: z.string().min(1),
  seqlen: z.coerce.number().pipe(z.int().min(2)).optional(),
  dtype: z.enum(["fp32", "fp16"]).optional(),
  int32: z.boolean().optional(),
  pooling: z.enum(["cls", "mean", "last"]).optional(),
  "token-type-ids": z.enum(["auto", "always"]).optional(),
  attention: z.enum(["contrib", "onnx"]).optional(),
  opset: z.coerce.number().pipe(z.int().min(17).max(21)).optional(),
  quiet: z.boolean().optional(),
})

interface Output {
  write(text: string): unknown
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`

/** Runs `kiln export` with `argv` (the arguments after "export") and returns the exit code. */
export const exportCli = async (argv: readonly string[], out: Output = process.stdout, err: Output = process.stderr): Promise<number> => {
  let parsedArgs
  try {
    parsedArgs = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        task: { type: "string" },
        out: { type: "string" },
        seqlen: { type: "string" },
        dtype: { type: "string" },
        int32: { type: "boolean" },
        pooling: { type: "string" },
        "token-type-ids": { type: "string" },
        attention: { type: "string" },
        opset: { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    })
  } catch (cause) {
    err.write(`error: kiln export: ${(cause as Error).message}\n\n${EXPORT_USAGE}\n`)
    return 2
  }
  const { values, positionals } = parsedArgs
  if (values.help) {
    out.write(`${EXPORT_USAGE}\n`)
    return 0
  }
  if (positionals.length !== 1) {
    const problem = positionals.length === 0 ? "the checkpoint folder is missing" : `expected one checkpoint folder, got ${positionals.length}: ${positionals.join(" ")}`
    err.write(`error: kiln export: ${problem}\n\n${EXPORT_USAGE}\n`)
    return 2
  }
  const parsed = argsSchema.safeParse(values)
  if (!parsed.success) {
    const problems = describeFlagIssues(parsed.error, values, argsSchema).map((line) => `  ${line}`).join("\n")
    err.write(`error: kiln export: bad arguments:\n${problems}\n\n${EXPORT_USAGE}\n`)
    return 2
  }
  const args = parsed.data
  const checkpointDir = positionals[0]!
  let lastReported = -1
  try {
    const result = await exportEncoder({
      checkpointDir,
      outDir: args.out,
      task: args.task,
      ...(args.seqlen !== undefined ? { seqlen: args.seqlen } : {}),
      ...(args.dtype !== undefined ? { dtype: args.dtype } : {}),
      ...(args.int32 !== undefined ? { int32Inputs: args.int32 } : {}),
      ...(args.pooling !== undefined ? { pooling: args.pooling } : {}),
      ...(args["token-type-ids"] !== undefined ? { tokenTypeIds: args["token-type-ids"] } : {}),
      ...(args.attention !== undefined ? { attention: args.attention } : {}),
      ...(args.opset !== undefined ? { opset: args.opset } : {}),
      onProgress: ({ done, total }) => {
        if (args.quiet) return
        const percent = Math.floor((done / Math.max(total, 1)) * 10) * 10
        if (percent === lastReported) return
        lastReported = percent
        err.write(`  weights ${mib(done)} / ${mib(total)} (${percent}%)\n`)
      },
    })
    for (const warning of result.warnings) err.write(`warning: kiln export: ${warning}\n`)
    const m = result.manifest
    out.write(
      `exported ${checkpointDir} → ${result.outDir}\n` +
        `  ${m.family} ${m.task}, ${m.weights}, opset ${m.opset}, ${m.seqlen === null ? "dynamic sequence" : `seqlen ${m.seqlen}`}\n` +
        `  inputs:  ${m.inputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(", ")}]`).join("; ")}\n` +
        `  outputs: ${m.outputs.map((o) => `${o.name} ${o.dtype}[${o.shape.join(", ")}]`).join("; ")}\n` +
        `  files:   ${[...result.copied, m.model, ...(m.externalData ? [m.externalData] : []), "kiln.json"].join(", ")}\n`,
    )
    return 0
  } catch (error) {
    if (error instanceof ExportError) {
      err.write(`error: kiln export: ${error.message}\n`)
      return 1
    }
    throw error
  }
}
