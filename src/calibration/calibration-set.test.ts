// writeCalibrationSet / readCalibrationSet: the files numpy sees (dtypes, shapes, keys, padding),
// the datalist, the manifest, the round trip kiln's quantizer relies on, and bad input named.

import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findNumpyPython, runPython } from "../numpy/index.ts"
import type { TokenBatch } from "../tokenize/index.ts"
import { CalibrationSetError } from "./errors.ts"
import { absoluteDatalist, readCalibrationSet } from "./read-calibration-set.ts"
import { writeCalibrationSet } from "./write-calibration-set.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-calibration-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const rows = [
  { ids: [101, 2023, 2003, 102], typeIds: [0, 0, 0, 0] },
  { ids: [101, 7592, 102, 2088, 999, 102], typeIds: [0, 0, 0, 1, 1, 1] },
  { ids: [101, 102] },
]

const expectError = (run: () => unknown, pattern: RegExp) => {
  let caught: unknown
  try {
    run()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(CalibrationSetError)
  expect((caught as Error).message).toMatch(pattern)
}

describe("writeCalibrationSet", () => {
  const dir = join(root, "rows")
  const written = writeCalibrationSet(rows, dir, { seqlen: 8, padId: 0 })

  test("writes vamc float32 and vamp int32 samples that numpy loads with the right values", () => {
    const python = findNumpyPython()
    if (python === null) {
      console.warn("numpy not found (CI installs python3-numpy); checked with kiln's reader only")
      return
    }
    const script = `
import json, sys, numpy as np
d = sys.argv[1]
out = []
for i in range(3):
    a = np.load(f"{d}/{i}.npz")
    b = np.load(f"{d}/vamp/{i}.npz")
    out.append({
        "vamc_keys": sorted(a.files), "vamp_keys": sorted(b.files),
        "vamc": {k: [str(a[k].dtype), list(a[k].shape), a[k].tolist()] for k in a.files},
        "vamp": {k: [str(b[k].dtype), list(b[k].shape), b[k].tolist()] for k in b.files},
    })
print(json.dumps(out))
`
    const seen = JSON.parse(runPython(python, script, [dir])) as {
      vamc_keys: string[]
      vamp_keys: string[]
      vamc: Record<string, [string, number[], number[][]]>
      vamp: Record<string, [string, number[], number[][]]>
    }[]
    expect(seen[0]!.vamc_keys).toEqual(["attention_mask", "input_ids", "token_type_ids"])
    expect(seen[0]!.vamp_keys).toEqual(["attention_mask", "attention_mask1", "attention_mask2", "attention_mask3", "input_ids", "token_type_ids"])
    const second = seen[1]!
    expect(second.vamc.input_ids).toEqual(["float32", [1, 8], [[101, 7592, 102, 2088, 999, 102, 0, 0]]])
    expect(second.vamc.attention_mask).toEqual(["float32", [1, 8], [[1, 1, 1, 1, 1, 1, 0, 0]]])
    expect(second.vamc.token_type_ids).toEqual(["float32", [1, 8], [[0, 0, 0, 1, 1, 1, 0, 0]]])
    expect(second.vamp.input_ids).toEqual(["int32", [1, 8], [[101, 7592, 102, 2088, 999, 102, 0, 0]]])
    expect(second.vamp.token_type_ids).toEqual(["int32", [1, 8], [[0, 0, 0, 1, 1, 1, 0, 0]]])
    for (const key of ["attention_mask", "attention_mask1", "attention_mask2", "attention_mask3"]) expect(second.vamp[key]).toEqual(["int32", [1, 8], [[1, 1, 1, 1, 1, 1, 0, 0]]])
  }, 30_000)

  test("writes a datalist relative to the folder and a manifest; absoluteDatalist resolves it", () => {
    expect(readFileSync(join(dir, "vamp/datalist.txt"), "utf8")).toBe("vamp/0.npz\nvamp/1.npz\nvamp/2.npz\n")
    expect(written.manifest).toMatchObject({ samples: 3, seqlen: 8, padId: 0, lengths: [4, 6, 2] })
    const absolute = absoluteDatalist(dir, join(root, "abs-datalist.txt"))
    expect(absolute).toEqual([0, 1, 2].map((i) => join(dir, "vamp", `${i}.npz`)))
    expect(readFileSync(join(root, "abs-datalist.txt"), "utf8").trim().split("\n")).toEqual(absolute)
  })

  test("reads back as the int32 rows kiln's quantizer feeds", () => {
    const set = readCalibrationSet(dir)
    expect(set.samples.map((s) => s.length)).toEqual([4, 6, 2])
    expect([...set.samples[2]!.inputIds]).toEqual([101, 102, 0, 0, 0, 0, 0, 0])
    expect([...set.samples[1]!.tokenTypeIds]).toEqual([0, 0, 0, 1, 1, 1, 0, 0])
  })

  test("takes a TokenBatch and copies its pad id (XLM-R pads with 1)", () => {
    const batch: TokenBatch = {
      dims: [2, 4],
      inputIds: Int32Array.from([0, 500, 2, 1, 0, 2, 1, 1]),
      attentionMask: Int32Array.from([1, 1, 1, 0, 1, 1, 0, 0]),
      tokenTypeIds: new Int32Array(8),
      lengths: Int32Array.from([3, 2]),
    }
    const set = writeCalibrationSet(batch, join(root, "batch"), { seqlen: 6 })
    expect(set.manifest.padId).toBe(1)
    expect([...readCalibrationSet(join(root, "batch")).samples[1]!.inputIds]).toEqual([0, 2, 1, 1, 1, 1])
  })
})

describe("bad input is named", () => {
  test("a sample longer than seqlen", () => {
    expectError(() => writeCalibrationSet(rows, join(root, "long"), { seqlen: 5, padId: 0 }), /sample 1 has 6 tokens, more than seqlen 5/)
  })
  test("padding needed but no padId", () => {
    expectError(() => writeCalibrationSet(rows, join(root, "nopad"), { seqlen: 8 }), /option "padId" is required/)
  })
  test("a bad seqlen option", () => {
    expectError(() => writeCalibrationSet(rows, join(root, "badopt"), { seqlen: 0, padId: 0 }), /option "seqlen"/)
  })
  test("a non-integer token id", () => {
    expectError(() => writeCalibrationSet([{ ids: [1, 2.5] }], join(root, "badid"), { seqlen: 4, padId: 0 }), /row 0: "ids"\[1\] = 2.5/)
  })
  test("a folder without a manifest", () => {
    expectError(() => readCalibrationSet(join(root, "nowhere")), /calibration\.json: cannot read the calibration manifest \(no such file\): is this a calibration-set folder/)
  })
})
