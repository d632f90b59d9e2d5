// kiln's STAND-IN for VastAI's `vamc` compiler — not the vendor tool, and it says so in --version.
// It holds a compile config to what the vendor documents (vendor-toolchain.md §1) so that kiln's
// vacc path runs, and fails, on machines without the toolchain:
//   vamc compile <cfg.yaml>   (also `vamc build`): the YAML path is the only argument; paths in it
//                             are relative to the working directory, as the vendor runs it.
// Checks: the known keys and their types; frontend.shape against the ONNX inputs (names, [1, L],
// symbolic dims accept any size, fixed ones must match); attention_split_num = L / 512 past 1024
// tokens (the rule read from the vendor's configs); output_layout only on a rank-3 output 0
// (embedders); for int8, the quantize block and a dataset folder of npz samples with the keys
// input_ids, attention_mask, token_type_ids as float32 or int32 [1, L].
// Output: <workspace.path>/<name>/mod.so (a text marker: nothing is compiled), mod.json (what the
// stand-in runtime needs) and mod.params (the ONNX model, which the stand-in runtime runs with ONNX
// Runtime on the CPU; fp16 rounding is applied to outputs by the runtime). For int8 the model is
// first quantized the way the quantize block says, as kiln's static int8 (QDQ) does it: weights
// int8 (per channel when quantize_per_channel), activations calibrated on the dataset's npz samples
// with calibrate_mode max or percentile (calibrate_range), the exclude_layers kiln names kept in
// float — so int8 through the stand-ins carries int8 rounding error. It is kiln's quantizer, not the
// card's: vamc's own calibration, mse / kl_divergence modes, integer layer indices and its kernels
// are not emulated (each is said on stderr when it comes up).
// For fault tests: KILN_STANDIN_VAMC_DELAY_MS makes it wait before writing; KILN_STANDIN_PIDFILE
// gets a line "vamc <pid>" when it starts.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { parse } from "yaml"
import { z } from "zod"
import { tmpdir } from "node:os"
import type { CalibrationSample } from "../../../calibration/index.ts"
import { readNpz } from "../../../numpy/index.ts"
import { type OnnxModel, readModel, writeModel } from "../../../onnx/index.ts"
import { quantizeOnnxModel } from "../../../quant/index.ts"

export const STAND_IN_VERSION = "vamc 0.0.0+kiln.stand-in (kiln stand-in for VastAI vamc: checks configs as documented, compiles nothing, int8 as kiln's QDQ)"

const fail = (message: string): never => {
  process.stderr.write(`vamc (kiln stand-in): error: ${message}\n`)
  process.exit(1)
}

const Shape = z.tuple([z.literal(1), z.number().int().positive()])
const Config = z.strictObject({
  name: z.string().min(1),
  frontend: z.strictObject({
    checkpoint: z.string().min(1),
    shape: z.record(z.string(), Shape),
    type: z.enum(["onnx", "pytorch", "tensorflow", "huggingface"]).optional(),
    dtype: z.enum(["int64", "int32", "fp32", "float32"]).optional(),
  }),
  backend: z.strictObject({
    type: z.literal("tvm_vacc"),
    dtype: z.enum(["fp16", "int8"]),
    compile: z.strictObject({
      cluster_mode: z.union([z.literal(0), z.literal(1)]),
      data_type: z.literal(0),
      attention_split_num: z.number().int().positive().optional(),
      output_layout: z.array(z.string().regex(/^\d+:[A-Z]+$/)).optional(),
      mem_inplace: z.boolean().optional(),
      enable_float_to_half: z.boolean().optional(),
    }),
    quantize: z
      .strictObject({
        calibrate_mode: z.enum(["max", "percentile", "mse", "kl_divergence"]),
        quantize_per_channel: z.boolean(),
        overflow_adaptive: z.number().int(),
        calibrate_range: z.number().gt(0).lte(1).optional(),
        weight_scale: z.literal("max").optional(),
        calibrate_chunk_by: z.number().int().optional(),
        exclude_layers: z.array(z.union([z.string(), z.number().int()])).optional(),
        quantize_operators: z.array(z.string()).optional(),
      })
      .optional(),
  }),
  dataset: z
    .strictObject({
      type: z.literal("tvm").optional(),
      path: z.string().min(1),
      sampler: z.strictObject({ suffix: z.enum(["npz", "NPZ"]).optional(), get_data_num: z.number().int().positive() }),
    })
    .optional(),
  workspace: z.strictObject({ path: z.string().min(1), workers: z.number().int().optional(), env_recheck: z.boolean().optional() }),
})

const CALIBRATION_KEYS = ["input_ids", "attention_mask", "token_type_ids"]

const checkCalibration = (dir: string, suffix: string, count: number, seqlen: number): void => {
  if (!existsSync(dir)) fail(`dataset.path ${dir}: no such folder`)
  const files = readdirSync(dir).filter((f) => f.endsWith(`.${suffix}`)).sort()
  if (files.length === 0) fail(`dataset.path ${dir}: no .${suffix} files to calibrate on`)
  if (files.length < count) fail(`dataset.sampler.get_data_num is ${count} but ${dir} holds ${files.length} .${suffix} files`)
  for (const file of files.slice(0, count)) {
    const arrays = readNpz(join(dir, file))
    const keys = [...arrays.keys()].sort()
    if (keys.join() !== [...CALIBRATION_KEYS].sort().join()) fail(`${join(dir, file)}: keys ${keys.join(", ")}, expected ${CALIBRATION_KEYS.join(", ")}`)
    for (const [key, a] of arrays) {
      if (a.dtype !== "float32" && a.dtype !== "int32") fail(`${join(dir, file)}: "${key}" is ${a.dtype}, expected float32 or int32`)
      if (a.shape.join() !== `1,${seqlen}`) fail(`${join(dir, file)}: "${key}" has shape [${a.shape.join(", ")}], expected [1, ${seqlen}]`)
    }
  }
}

const warn = (message: string): void => {
  process.stderr.write(`vamc (kiln stand-in): ${message}\n`)
}

/** vamc's calibration npz (float32 or int32 token ids, [1, L]) as calibration samples. */
const readSamples = (dir: string, suffix: string, count: number): CalibrationSample[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith(`.${suffix}`))
    .sort()
    .slice(0, count)
    .map((file) => {
      const arrays = readNpz(join(dir, file))
      const row = (key: string) => Int32Array.from(arrays.get(key)!.data as ArrayLike<number>, (v) => Number(v))
      const attentionMask = row("attention_mask")
      const padded = attentionMask.indexOf(0)
      return { inputIds: row("input_ids"), attentionMask, tokenTypeIds: row("token_type_ids"), length: padded === -1 ? attentionMask.length : padded }
    })

type QuantizeBlock = NonNullable<z.infer<typeof Config>["backend"]["quantize"]>

/** The quantize block applied by kiln's static int8 quantizer; what it cannot follow is said on stderr. */
const emulateInt8 = async (model: OnnxModel, q: QuantizeBlock, dir: string, samples: readonly CalibrationSample[]): Promise<OnnxModel> => {
  const weights = model.graph.initializers.map((t) => t.name)
  const names = (q.exclude_layers ?? []).filter((x): x is string => typeof x === "string")
  const indices = (q.exclude_layers ?? []).filter((x): x is number => typeof x === "number")
  if (indices.length > 0) warn(`exclude_layers ${JSON.stringify(indices)}: vamc-internal layer numbers, which the stand-in cannot map to the model; those layers are quantized here`)
  const found = names.filter((n) => weights.some((w) => w.startsWith(`${n}.`)))
  const missing = names.filter((n) => !found.includes(n))
  if (missing.length > 0) warn(`exclude_layers: ${missing.length} names match no weight of this model (e.g. ${missing.slice(0, 3).join(", ")}); they exclude nothing`)
  if (q.calibrate_mode === "mse" || q.calibrate_mode === "kl_divergence") warn(`calibrate_mode ${q.calibrate_mode} is not emulated; calibrating with percentile`)
  const { model: quantized } = await quantizeOnnxModel(
    model,
    {
      scheme: "static-int8",
      method: q.calibrate_mode === "max" ? "max" : "percentile",
      percentile: (q.calibrate_range ?? 0.99999) * 100,
      weights: q.quantize_per_channel ? "per-channel" : "per-tensor",
      smooth: false,
      calibration: dir,
      ...(found.length > 0 ? { exclude: { nodes: found.map((n) => `${n}.*`) } } : {}),
    },
    { samples, threads: 2 },
  )
  return quantized
}

const compile = async (yamlPath: string): Promise<void> => {
  if (!existsSync(yamlPath)) fail(`${yamlPath}: no such file`)
  let raw: unknown
  try {
    raw = parse(readFileSync(yamlPath, "utf8"))
  } catch (e) {
    fail(`${yamlPath}: not valid YAML: ${(e as Error).message}`)
  }
  const parsed = Config.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    fail(`${yamlPath}: ${issue.path.join(".") || "(root)"}: ${issue.message}`)
  }
  const c = parsed.data!
  const lengths = new Set(Object.values(c.frontend.shape).map((s) => s[1]))
  if (lengths.size !== 1) fail(`frontend.shape: every input must have the same [1, L], got ${JSON.stringify(c.frontend.shape)}`)
  const seqlen = [...lengths][0]!
  const split = c.backend.compile.attention_split_num
  if (seqlen > 1024 && split !== seqlen / 512) fail(`seqlen ${seqlen} needs backend.compile.attention_split_num: ${seqlen / 512} (got ${split ?? "none"})`)
  const checkpoint = resolve(c.frontend.checkpoint)
  if (!existsSync(checkpoint)) fail(`frontend.checkpoint ${c.frontend.checkpoint}: no such file (relative to ${process.cwd()})`)
  const model = await readModel(checkpoint).catch((e: Error) => fail(`frontend.checkpoint ${c.frontend.checkpoint}: ${e.message}`))
  const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.some((t) => t.name === i.name))
  const names = inputs.map((i) => i.name)
  if (names.sort().join() !== Object.keys(c.frontend.shape).sort().join())
    fail(`frontend.shape names ${Object.keys(c.frontend.shape).join(", ")} but the model's inputs are ${names.join(", ")}`)
  if (!names.includes("token_type_ids")) fail(`the model has no token_type_ids input; the compiled BERT model takes input_ids, attention_mask, token_type_ids (export with token type ids always)`)
  for (const input of inputs) {
    const dims = input.dims ?? []
    const want = c.frontend.shape[input.name]!
    if (dims.length !== 2) fail(`input ${input.name} has rank ${dims.length}, expected [1, L]`)
    dims.forEach((d, k) => {
      if (typeof d === "number" && d !== want[k]) fail(`frontend.shape.${input.name} is [${want.join(", ")}] but the model fixes dim ${k} at ${d}`)
    })
    if (input.dtype !== "int32" && input.dtype !== "int64") fail(`input ${input.name} is ${input.dtype}, expected int32 or int64 token ids`)
  }
  const output = model.graph.outputs[0]
  if (output === undefined) fail("the model has no outputs")
  if (c.backend.compile.output_layout !== undefined && (output!.dims ?? []).length !== 3)
    fail(`backend.compile.output_layout ${JSON.stringify(c.backend.compile.output_layout)} needs a rank-3 output 0 ([1, L, hidden]); ${output!.name} has rank ${(output!.dims ?? []).length} (rerankers take no output_layout)`)
  if (c.backend.dtype === "int8") {
    if (c.backend.quantize === undefined) fail("backend.dtype int8 needs a backend.quantize block")
    if (c.dataset === undefined) fail("backend.dtype int8 needs a dataset block (the calibration npz folder)")
    checkCalibration(resolve(c.dataset!.path), c.dataset!.sampler.suffix ?? "npz", c.dataset!.sampler.get_data_num, seqlen)
  }
  const delay = Number(process.env.KILN_STANDIN_VAMC_DELAY_MS ?? 0)
  if (delay > 0) await Bun.sleep(delay)

  const out = resolve(c.workspace.path, c.name)
  mkdirSync(out, { recursive: true })
  const hidden = (output!.dims ?? [])[2]
  writeFileSync(join(out, "mod.so"), "kiln stand-in: nothing was compiled; mod.params holds the ONNX model the stand-in runtime runs on the CPU\n")
  let source = checkpoint
  const scratch = mkdtempSync(join(tmpdir(), "kiln-vamc-standin-"))
  try {
    if (c.backend.dtype === "int8") {
      const samples = readSamples(resolve(c.dataset!.path), c.dataset!.sampler.suffix ?? "npz", c.dataset!.sampler.get_data_num)
      source = join(scratch, "model.onnx")
      await writeModel(await emulateInt8(model!, c.backend.quantize!, resolve(c.dataset!.path), samples), source)
    }
    copyFileSync(source, join(out, "mod.params"))
    const data = `${source}_data`
    if (existsSync(data)) copyFileSync(data, join(out, "model.onnx_data"))
  } catch (e) {
    fail(`int8: ${(e as Error).message}`)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
  writeFileSync(
    join(out, "mod.json"),
    JSON.stringify(
      {
        kiln_stand_in: STAND_IN_VERSION,
        dtype: c.backend.dtype,
        seqlen,
        // The compiled BERT model takes six inputs (since compiler 1.5): ids, mask, type ids, mask ×3.
        input_shape: Array.from({ length: 6 }, () => [1, seqlen]),
        output_name: output!.name,
        output_rank: (output!.dims ?? []).length,
        hidden: typeof hidden === "number" ? hidden : null,
        output_layout: c.backend.compile.output_layout ?? null,
        // Honest about what the stand-in runtime does with it.
        computes:
          c.backend.dtype === "int8"
            ? "kiln's static int8 (QDQ) of the model per the quantize block, run by ONNX Runtime on the CPU; outputs rounded to fp16; not the card's int8 kernels or vamc's calibration"
            : "the ONNX model in float32 on the CPU (ONNX Runtime); outputs rounded to fp16; fp16 arithmetic inside the model is not emulated",
      },
      null,
      2,
    ) + "\n",
  )
  process.stderr.write(`vamc (kiln stand-in): wrote ${out}/mod.{so,json,params} (seqlen ${seqlen}, ${c.backend.dtype}); nothing was compiled\n`)
}

if (process.env.KILN_STANDIN_PIDFILE) appendFileSync(process.env.KILN_STANDIN_PIDFILE, `vamc ${process.pid}\n`)
const [command, ...args] = process.argv.slice(2)
if (command === "--version" || command === "-v") {
  console.log(STAND_IN_VERSION)
} else if ((command === "compile" || command === "build") && args.length === 1) {
  await compile(args[0]!)
} else {
  fail(`usage: vamc compile <config.yaml> (got: ${[command, ...args].filter(Boolean).join(" ") || "no arguments"})`)
}
