// writeCalibrationSet: token rows (or a tokenized batch) → a calibration-set folder: vamc's float32
// samples, vamp's six int32 inputs with a datalist, and calibration.json for kiln's own quantizer.

import { mkdirSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { writeNpz, type NpyArray } from "../numpy/index.ts"
import type { TokenBatch } from "../tokenize/index.ts"
import { describeIssue, formatIssuePath } from "../schema/index.ts"
import { CalibrationSetError } from "./errors.ts"
import {
  CALIBRATION_MANIFEST,
  CalibrationManifest,
  VAMC_KEYS,
  VAMP_DATALIST,
  VAMP_DIR,
  VAMP_KEYS,
  vamcSampleFile,
  vampSampleFile,
} from "./layout.ts"

/** One tokenized text before padding; type ids default to zeros. */
export interface CalibrationTokenRow {
  readonly ids: readonly number[]
  readonly typeIds?: readonly number[]
}

export const WriteCalibrationSetOptionsSchema = z
  .object({
    /** Every sample is padded to this length; a longer sample is an error (tokenize with maxLength = seqlen). */
    seqlen: z.number().int().positive(),
    /** Padding id. Needed when a sample is shorter than seqlen, unless a TokenBatch shows its padding. */
    padId: z.number().int().nonnegative().optional(),
  })
  .strict()

export type WriteCalibrationSetOptions = z.input<typeof WriteCalibrationSetOptionsSchema>

export interface WrittenCalibrationSet {
  readonly dir: string
  readonly manifest: CalibrationManifest
}

interface Sample {
  readonly ids: Int32Array
  readonly typeIds: Int32Array
  readonly length: number
}

const isTokenBatch = (input: unknown): input is TokenBatch =>
  typeof input === "object" && input !== null && "dims" in input && (input as TokenBatch).inputIds instanceof Int32Array

const checkOptions = (options: unknown): z.output<typeof WriteCalibrationSetOptionsSchema> => {
  const parsed = WriteCalibrationSetOptionsSchema.safeParse(options)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  throw new CalibrationSetError(
    "bad-option",
    `writeCalibrationSet: option "${formatIssuePath(issue.path) || "(options)"}" ${describeIssue(issue, options, { schema: WriteCalibrationSetOptionsSchema, subject: false })}`,
  )
}

const samplesFromBatch = (batch: TokenBatch): Sample[] => {
  const [rows, seq] = batch.dims
  if (batch.inputIds.length !== rows * seq || batch.attentionMask.length !== rows * seq || batch.tokenTypeIds.length !== rows * seq)
    throw new CalibrationSetError("bad-input", `writeCalibrationSet: TokenBatch arrays do not hold dims [${rows}, ${seq}] elements`)
  const samples: Sample[] = []
  for (let r = 0; r < rows; r++) {
    const mask = batch.attentionMask.subarray(r * seq, (r + 1) * seq)
    let length = 0
    while (length < seq && mask[length] === 1) length++
    for (let i = length; i < seq; i++)
      if (mask[i] !== 0)
        throw new CalibrationSetError("bad-input", `writeCalibrationSet: row ${r} of the TokenBatch has attention_mask ${mask[i]} at position ${i} after padding began; expected right padding (1…1 0…0)`)
    samples.push({
      ids: batch.inputIds.slice(r * seq, r * seq + length),
      typeIds: batch.tokenTypeIds.slice(r * seq, r * seq + length),
      length,
    })
  }
  return samples
}

/** The pad id a batch uses, read off its first padded position; undefined when nothing is padded. */
const batchPadId = (batch: TokenBatch): number | undefined => {
  for (let i = 0; i < batch.attentionMask.length; i++) if (batch.attentionMask[i] === 0) return batch.inputIds[i]
  return undefined
}

const samplesFromRows = (rows: readonly CalibrationTokenRow[]): Sample[] =>
  rows.map((row, r) => {
    if (!Array.isArray(row?.ids)) throw new CalibrationSetError("bad-input", `writeCalibrationSet: row ${r}: "ids" must be an array of token ids`)
    const typeIds = row.typeIds ?? new Array<number>(row.ids.length).fill(0)
    if (typeIds.length !== row.ids.length)
      throw new CalibrationSetError("bad-input", `writeCalibrationSet: row ${r}: "typeIds" has ${typeIds.length} entries, "ids" ${row.ids.length}`)
    const check = (values: readonly number[], field: string) => {
      values.forEach((v, i) => {
        if (!Number.isSafeInteger(v) || v < 0 || v > 0x7fffffff)
          throw new CalibrationSetError("bad-input", `writeCalibrationSet: row ${r}: "${field}"[${i}] = ${String(v)} is not a non-negative int32 token id`)
      })
    }
    check(row.ids, "ids")
    check(typeIds, "typeIds")
    return { ids: Int32Array.from(row.ids), typeIds: Int32Array.from(typeIds), length: row.ids.length }
  })

/**
 * Writes the calibration set to `outDir` (created; existing sample files are overwritten):
 *   <i>.npz             vamc: input_ids, attention_mask, token_type_ids as float32 [1, seqlen]
 *   vamp/<i>.npz        vamp: input_ids, attention_mask, token_type_ids, attention_mask1…3 as int32 [1, seqlen]
 *   vamp/datalist.txt   one sample path per line, relative to `outDir` (absoluteDatalist makes an absolute copy)
 *   calibration.json    the manifest: sample count, seqlen, pad id, real lengths, file lists
 * kiln's quantizer reads the vamc files back (readCalibrationSet); ids below 2^24 are exact in float32.
 */
export const writeCalibrationSet = (
  input: TokenBatch | readonly CalibrationTokenRow[],
  outDir: string,
  options: WriteCalibrationSetOptions,
): WrittenCalibrationSet => {
  const { seqlen, padId: givenPadId } = checkOptions(options)
  const samples = isTokenBatch(input) ? samplesFromBatch(input) : Array.isArray(input) ? samplesFromRows(input) : undefined
  if (samples === undefined) throw new CalibrationSetError("bad-input", "writeCalibrationSet: input must be a TokenBatch or an array of { ids, typeIds? } rows")
  if (samples.length === 0) throw new CalibrationSetError("bad-input", "writeCalibrationSet: no samples; a calibration set needs at least one")
  const padId = givenPadId ?? (isTokenBatch(input) ? batchPadId(input) : undefined)
  samples.forEach((s, i) => {
    if (s.length > seqlen)
      throw new CalibrationSetError("bad-input", `writeCalibrationSet: sample ${i} has ${s.length} tokens, more than seqlen ${seqlen}; tokenize with maxLength ${seqlen} so truncation keeps the closing special token`)
    if (s.length === 0) throw new CalibrationSetError("bad-input", `writeCalibrationSet: sample ${i} has no tokens`)
    if (s.ids.some((id) => id >= 2 ** 24))
      throw new CalibrationSetError("bad-input", `writeCalibrationSet: sample ${i} holds a token id ≥ 2^24, which float32 (vamc's dtype) cannot store exactly`)
  })
  if (padId === undefined && samples.some((s) => s.length < seqlen))
    throw new CalibrationSetError("bad-option", `writeCalibrationSet: option "padId" is required: some samples are shorter than seqlen ${seqlen} and the input shows no padding to copy the id from`)

  mkdirSync(join(outDir, VAMP_DIR), { recursive: true })
  const shape = [1, seqlen]
  samples.forEach((sample, i) => {
    const ids = new Int32Array(seqlen).fill(padId ?? 0)
    ids.set(sample.ids)
    const mask = new Int32Array(seqlen).fill(1, 0, sample.length)
    const typeIds = new Int32Array(seqlen)
    typeIds.set(sample.typeIds)
    const float = (data: Int32Array): NpyArray => ({ dtype: "float32", shape, data: Float32Array.from(data) })
    const int = (data: Int32Array): NpyArray => ({ dtype: "int32", shape, data })
    writeNpz(join(outDir, vamcSampleFile(i)), [
      [VAMC_KEYS[0], float(ids)],
      [VAMC_KEYS[1], float(mask)],
      [VAMC_KEYS[2], float(typeIds)],
    ])
    const vampInputs = [ids, mask, typeIds, mask, mask, mask]
    writeNpz(join(outDir, vampSampleFile(i)), VAMP_KEYS.map((key, k) => [key, int(vampInputs[k]!)] as const))
  })

  const vampFiles = samples.map((_, i) => vampSampleFile(i))
  const manifest: CalibrationManifest = CalibrationManifest.parse({
    kind: "calibration-set",
    version: 1,
    samples: samples.length,
    seqlen,
    padId: padId ?? 0,
    lengths: samples.map((s) => s.length),
    vamc: { files: samples.map((_, i) => vamcSampleFile(i)), keys: [...VAMC_KEYS], dtype: "float32" },
    vamp: { files: vampFiles, keys: [...VAMP_KEYS], dtype: "int32", datalist: VAMP_DATALIST },
  })
  writeAtomically(join(outDir, VAMP_DATALIST), vampFiles.join("\n") + "\n")
  writeAtomically(join(outDir, CALIBRATION_MANIFEST), JSON.stringify(manifest, null, 2) + "\n")
  return { dir: outDir, manifest }
}

const writeAtomically = (path: string, text: string): void => {
  const temp = `${path}.tmp-${process.pid}`
  writeFileSync(temp, text)
  renameSync(temp, path)
}
