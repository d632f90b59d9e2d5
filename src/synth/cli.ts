// `kiln synth …`: writes a synthetic checkpoint folder from the command line. Arguments are
// validated with zod; a bad flag gives a usage error naming it, and nothing is written.

import { parseArgs } from "node:util"
import { z } from "zod"
import { families, familyNames } from "../families/index.ts"
import { describeFlagIssues } from "../schema/index.ts"
import { SynthError } from "../seeded/index.ts"
import { synthesizeCheckpoint, synthTasks } from "./checkpoint.ts"

const sizesByArch = families
  .map((f) => `           ${f.name}: ${f.synth.sizes.join("|")} (tasks ${f.synth.tasks.join("|")})`)
  .sort()
  .join("\n")

export const SYNTH_USAGE = `Usage: kiln synth --arch ARCH --size SIZE --task TASK --seed N --out DIR [options]

Writes a seeded synthetic Hugging Face checkpoint (config.json, weights, tokenizer).

Required:
  --arch ${familyNames().join("|")}
  --size SIZE, per arch:
${sizesByArch}
  --task ${synthTasks.join("|")}   (m3: pytorch_model.bin + sparse_linear.pt + colbert_linear.pt)
  --seed N                 non-negative integer; same options give byte-identical files
  --out DIR                output folder (created if missing)

Options:
  --outliers               plant large-magnitude hidden channels (for honest int8 tests)
  --tokenizer DIR          copy this real tokenizer folder instead of generating one
  --dtype float32|float16|bfloat16   stored weight type (default float32)
  --help                   show this help`

// Flag values arrive as text; the seed is coerced, then checked ("--seed must be a non-negative integer, got \"x1\"").
const argsSchema = z.object({
  arch: z.enum(familyNames() as [string, ...string[]]),
  size: z.string().min(1),
  task: z.enum(synthTasks),
  seed: z.coerce.number().pipe(z.int().nonnegative()),
  out: z.string().min(1),
  outliers: z.boolean().optional(),
  tokenizer: z.string().min(1).optional(),
  dtype: z.enum(["float32", "float16", "bfloat16"]).optional(),
})

interface Output {
  write(text: string): unknown
}

/** Runs `kiln synth` with `argv` (the arguments after "synth") and returns the exit code. */
export const runSynthCli = async (argv: readonly string[], out: Output = process.stdout, err: Output = process.stderr): Promise<number> => {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        arch: { type: "string" },
        size: { type: "string" },
        task: { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        outliers: { type: "boolean" },
        tokenizer: { type: "string" },
        dtype: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }))
  } catch (cause) {
    err.write(`error: kiln synth: ${(cause as Error).message}\n\n${SYNTH_USAGE}\n`)
    return 2
  }
  if (values.help) {
    out.write(`${SYNTH_USAGE}\n`)
    return 0
  }
  const parsed = argsSchema.safeParse(values)
  if (!parsed.success) {
    const problems = describeFlagIssues(parsed.error, values, argsSchema).map((line) => `  ${line}`).join("\n")
    err.write(`error: kiln synth: bad arguments:\n${problems}\n\n${SYNTH_USAGE}\n`)
    return 2
  }
  const args = parsed.data
  try {
    const started = performance.now()
    const result = await synthesizeCheckpoint({
      arch: args.arch,
      size: args.size,
      task: args.task,
      seed: args.seed,
      out: args.out,
      outliers: args.outliers === true,
      ...(args.tokenizer !== undefined ? { tokenizerDir: args.tokenizer } : {}),
      ...(args.dtype !== undefined ? { dtype: args.dtype } : {}),
    })
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    const outliers = result.outlierChannels.length > 0 ? `, outlier channels ${result.outlierChannels.map((c) => c.index).join(", ")}` : ""
    out.write(
      `wrote ${result.dir} in ${seconds}s: ${result.files.join(", ")} ` +
        `(${result.shape.numLayers} layers, hidden ${result.shape.hiddenSize}, vocab ${result.shape.vocabSize}${outliers})\n`,
    )
    return 0
  } catch (cause) {
    if (cause instanceof SynthError) {
      err.write(`error: kiln synth: ${cause.message}\n`)
      return cause.reason === "InvalidOptions" ? 2 : 1
    }
    throw cause
  }
}

if (import.meta.main) {
  runSynthCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (cause) => {
      process.stderr.write(`error: kiln synth: ${(cause as Error).message}\n`)
      process.exit(1)
    },
  )
}
