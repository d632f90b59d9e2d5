// Reading a calibration-set folder back: the manifest (validated) and the samples as int32 rows,
// which kiln's quantizer turns into int64 or int32 model inputs; and vamp's datalist made absolute.

import { writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { readNpz } from "../numpy/index.ts"
import { readJsonFile } from "../schema/index.ts"
import { CalibrationSetError } from "./errors.ts"
import { CALIBRATION_MANIFEST, CalibrationManifest, VAMC_KEYS } from "./layout.ts"

export interface CalibrationSample {
  /** [seqlen] each, padded on the right. */
  readonly inputIds: Int32Array
  readonly attentionMask: Int32Array
  readonly tokenTypeIds: Int32Array
  /** Real tokens (the leading run of mask = 1). */
  readonly length: number
}

export interface CalibrationSet {
  readonly dir: string
  readonly manifest: CalibrationManifest
  readonly samples: readonly CalibrationSample[]
}

export const readCalibrationManifest = (dir: string): CalibrationManifest => {
  const path = join(dir, CALIBRATION_MANIFEST)
  return readJsonFile(path, CalibrationManifest, "the calibration manifest", (error) =>
    new CalibrationSetError(
      "bad-set",
      error.problem === "unreadable" ? `${error.message}: is this a calibration-set folder written by writeCalibrationSet?` : error.message,
      { cause: error },
    ),
  )
}

/** Reads every sample (the vamc float32 files), checking shapes and that the values are integers. */
export const readCalibrationSet = (dir: string): CalibrationSet => {
  const manifest = readCalibrationManifest(dir)
  const seqlen = manifest.seqlen
  const samples = manifest.vamc.files.map((file, i): CalibrationSample => {
    const path = join(dir, file)
    const arrays = readNpz(path)
    const [ids, mask, types] = VAMC_KEYS.map((key) => {
      const array = arrays.get(key)
      if (array === undefined) throw new CalibrationSetError("bad-set", `${path}: no array "${key}"; vamc samples hold ${VAMC_KEYS.join(", ")}`)
      if (array.shape.length !== 2 || array.shape[0] !== 1 || array.shape[1] !== seqlen)
        throw new CalibrationSetError("bad-set", `${path}: "${key}" has shape [${array.shape.join(", ")}], expected [1, ${seqlen}] (seqlen from ${CALIBRATION_MANIFEST})`)
      const out = new Int32Array(seqlen)
      for (let k = 0; k < seqlen; k++) {
        const v = Number(array.data[k])
        if (!Number.isInteger(v)) throw new CalibrationSetError("bad-set", `${path}: "${key}"[${k}] = ${v} is not an integer token value`)
        out[k] = v
      }
      return out
    }) as [Int32Array, Int32Array, Int32Array]
    let length = 0
    while (length < seqlen && mask[length] === 1) length++
    if (length !== manifest.lengths[i])
      throw new CalibrationSetError("bad-set", `${path}: attention_mask covers ${length} tokens but ${CALIBRATION_MANIFEST} lengths[${i}] says ${manifest.lengths[i]}`)
    return { inputIds: ids, attentionMask: mask, tokenTypeIds: types, length }
  })
  return { dir, manifest, samples }
}

/**
 * vamp's datalist with absolute paths, written to `outPath`. The stored datalist is relative because
 * the folder is a content-addressed artifact: it is materialised by hard links wherever a step
 * needs it, so an absolute path baked in at write time would point into a scratch directory that
 * no longer exists (and would make the artifact's digest depend on where it was built). Whoever
 * runs vamp calls this with the folder's current location. Returns the absolute paths.
 */
export const absoluteDatalist = (dir: string, outPath: string): string[] => {
  const manifest = readCalibrationManifest(dir)
  const paths = manifest.vamp.files.map((file) => resolve(dir, file))
  writeFileSync(outPath, paths.join("\n") + "\n")
  return paths
}
