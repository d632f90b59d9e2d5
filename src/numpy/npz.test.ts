// Proves .npz archives: round trips, numpy loading our calibration-style files with exact values,
// our reader loading numpy.savez / savez_compressed output, and errors naming file and key.

import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { writeZip, ZipReader } from "../zip/index.ts"
import type { NpyArray } from "./dtype.ts"
import { findNumpyPython, runPython } from "./find-numpy-python.ts"
import { NpyError } from "./npy-error.ts"
import { encodeNpy } from "./npy.ts"
import { NpzReader, readNpz, writeNpz } from "./npz.ts"

const dir = mkdtempSync(join(tmpdir(), "kiln-npz-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const expectNpyError = (run: () => unknown, reason: string, ...mentions: string[]) => {
  let caught: unknown
  try {
    run()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(NpyError)
  expect((caught as NpyError).reason).toBe(reason as NpyError["reason"])
  for (const m of mentions) expect((caught as NpyError).message).toContain(m)
}

/** One calibration sample as vamc wants it: float32 [1, L] ids, mask and type ids. */
const calibrationSample = (seqlen: number, seed: number): Record<string, NpyArray> => {
  const ids = new Float32Array(seqlen)
  const mask = new Float32Array(seqlen)
  const types = new Float32Array(seqlen)
  const length = 5 + (seed % (seqlen - 5))
  for (let i = 0; i < seqlen; i++) {
    ids[i] = i < length ? (i * 7919 + seed * 104729) % 250002 : 0
    mask[i] = i < length ? 1 : 0
  }
  return {
    input_ids: { dtype: "float32", shape: [1, seqlen], data: ids },
    attention_mask: { dtype: "float32", shape: [1, seqlen], data: mask },
    token_type_ids: { dtype: "float32", shape: [1, seqlen], data: types },
  }
}

/** One vamp input: keys input_0..input_5, int32 [1, L] (ids, type ids, then the mask four times). */
const vampSample = (seqlen: number): Record<string, NpyArray> => {
  const ids = new Int32Array(seqlen).map((_, i) => (i * 31 + 101) % 30522)
  const mask = new Int32Array(seqlen).map((_, i) => (i < seqlen - 3 ? 1 : 0))
  const out: Record<string, NpyArray> = { input_0: { dtype: "int32", shape: [1, seqlen], data: ids } }
  for (let k = 1; k < 6; k++) out[`input_${k}`] = { dtype: "int32", shape: [1, seqlen], data: k === 1 ? new Int32Array(seqlen) : mask }
  return out
}

describe("npz round trip", () => {
  test("every dtype comes back with its key, shape and exact values, in order", () => {
    const arrays: Record<string, NpyArray> = {
      f4: { dtype: "float32", shape: [2, 2], data: new Float32Array([1.5, -0, NaN, 3e38]) },
      f8: { dtype: "float64", shape: [1], data: new Float64Array([Math.PI]) },
      i4: { dtype: "int32", shape: [3], data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]) },
      i8: { dtype: "int64", shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
      f2: { dtype: "float16", shape: [2], data: new Uint16Array([0x3c00, 0x7c00]) },
      u1: { dtype: "uint8", shape: [2], data: new Uint8Array([0, 255]) },
      i1: { dtype: "int8", shape: [2], data: new Int8Array([-128, 127]) },
      b1: { dtype: "bool", shape: [], data: new Uint8Array([1]) },
    }
    const path = join(dir, "all.npz")
    writeNpz(path, arrays)
    const back = readNpz(path)
    expect([...back.keys()]).toEqual(Object.keys(arrays))
    for (const [key, array] of Object.entries(arrays)) {
      const got = back.get(key)!
      expect(got.dtype).toBe(array.dtype)
      expect(got.shape).toEqual(array.shape)
      expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(Buffer.from(array.data.buffer))
    }
  })

  test("entries are stored (uncompressed) and named <key>.npy", () => {
    const path = join(dir, "stored.npz")
    writeNpz(path, [["input_ids", { dtype: "float32", shape: [1, 4], data: new Float32Array(4) }]])
    const zip = ZipReader.open(path)
    try {
      expect([...zip.entries.values()].map((e) => [e.name, e.method])).toEqual([["input_ids.npy", "stored"]])
    } finally {
      zip.close()
    }
  })

  test("a bad array is reported before any file is created", () => {
    const path = join(dir, "never.npz")
    expectNpyError(
      () => writeNpz(path, { ok: { dtype: "int32", shape: [1], data: new Int32Array(1) }, bad: { dtype: "float32", shape: [1, 512], data: new Float32Array(500) } }),
      "bad-array",
      "never.npz",
      "'bad'",
    )
    expect(existsSync(path)).toBe(false)
    expect(readdirSync(dir).filter((f) => f.includes("never"))).toEqual([])
  })
})

describe("npz errors name the file and key", () => {
  test("a missing key lists the keys that exist", () => {
    const path = join(dir, "sample.npz")
    writeNpz(path, calibrationSample(8, 1))
    const reader = NpzReader.open(path)
    try {
      expectNpyError(() => reader.get("input_0"), "missing-key", "sample.npz", "input_0", "'input_ids', 'attention_mask', 'token_type_ids'")
    } finally {
      reader.close()
    }
  })

  test("a file that is not a zip archive", () => {
    const path = join(dir, "not-a-zip.npz")
    writeFileSync(path, "hello, this is text")
    expectNpyError(() => readNpz(path), "bad-archive", "not-a-zip.npz")
    expectNpyError(() => readNpz(join(dir, "absent.npz")), "bad-archive", "absent.npz")
  })

  test("a truncated array inside an archive names the key", () => {
    const path = join(dir, "short.npz")
    const full = encodeNpy({ dtype: "float32", shape: [1, 16], data: new Float32Array(16) })
    writeZip(path, [{ name: "attention_mask.npy", data: full.subarray(0, full.length - 4) }])
    expectNpyError(() => readNpz(path), "truncated", "short.npz", "attention_mask", "64 bytes")
  })

  test("an entry that is not a .npy array", () => {
    const path = join(dir, "other.npz")
    writeZip(path, [{ name: "notes.txt", data: new TextEncoder().encode("hi") }])
    expectNpyError(() => NpzReader.open(path), "bad-archive", "other.npz", "notes.txt")
  })

  test("a corrupted entry is reported with its key", () => {
    const path = join(dir, "corrupt.npz")
    writeNpz(path, { token_type_ids: { dtype: "int32", shape: [4], data: new Int32Array([1, 2, 3, 4]) } })
    const bytes = new Uint8Array(readFileSync(path))
    bytes[30 + "token_type_ids.npy".length + 64 + 1]! ^= 0xff // flip a data byte: CRC mismatch
    writeFileSync(path, bytes)
    expectNpyError(() => readNpz(path), "bad-archive", "corrupt.npz", "token_type_ids", "CRC")
  })
})

const python = findNumpyPython()

describe.skipIf(python === null)("npz agrees with numpy (needs a python3 with numpy)", () => {
  test("numpy.load reads our calibration and vamp samples with exact dtype, shape and values", () => {
    const seqlen = 512
    const samples = [calibrationSample(seqlen, 0), calibrationSample(seqlen, 1), vampSample(seqlen)]
    samples.forEach((sample, i) => writeNpz(join(dir, `${i}.npz`), sample))
    const script = `
import numpy as np, sys, json
out = []
for i in range(3):
    with np.load(f"{sys.argv[1]}/{i}.npz") as z:
        out.append({k: {"dtype": z[k].dtype.str, "shape": list(z[k].shape), "values": z[k].ravel().tolist()} for k in z.files})
print(json.dumps(out))
`
    const loaded = JSON.parse(runPython(python!, script, [dir])) as Record<string, { dtype: string; shape: number[]; values: number[] }>[]
    samples.forEach((sample, i) => {
      expect(Object.keys(loaded[i]!)).toEqual(Object.keys(sample))
      for (const [key, array] of Object.entries(sample)) {
        const got = loaded[i]![key]!
        expect(got.dtype).toBe(array.dtype === "float32" ? "<f4" : "<i4")
        expect(got.shape).toEqual([1, seqlen])
        expect(got.values).toEqual([...(array.data as Float32Array | Int32Array)])
      }
    })
  }, 30_000)

  test("our reader loads numpy.savez and numpy.savez_compressed output exactly", () => {
    const script = `
import numpy as np, sys
d = sys.argv[1]
L = 16
ids = (np.arange(L, dtype=np.float32) * 3 + 0.5).reshape(1, L)
mask = (np.arange(L) < 10).astype(np.float32).reshape(1, L)
types = np.zeros((1, L), np.float32)
np.savez(f"{d}/np-plain.npz", input_ids=ids, attention_mask=mask, token_type_ids=types)
np.savez_compressed(f"{d}/np-compressed.npz", input_0=np.arange(L, dtype=np.int32).reshape(1, L) - 5, input_1=np.ones((1, L), np.int32))
`
    runPython(python!, script, [dir])
    const plain = readNpz(join(dir, "np-plain.npz"))
    expect([...plain.keys()]).toEqual(["input_ids", "attention_mask", "token_type_ids"])
    const ids = plain.get("input_ids")!
    expect(ids.dtype).toBe("float32")
    expect(ids.shape).toEqual([1, 16])
    expect([...ids.data]).toEqual(Array.from({ length: 16 }, (_, i) => i * 3 + 0.5))
    expect([...plain.get("attention_mask")!.data]).toEqual(Array.from({ length: 16 }, (_, i) => (i < 10 ? 1 : 0)))
    const compressed = readNpz(join(dir, "np-compressed.npz"))
    expect(compressed.get("input_0")!.dtype).toBe("int32")
    expect([...compressed.get("input_0")!.data]).toEqual(Array.from({ length: 16 }, (_, i) => i - 5))
    expect([...compressed.get("input_1")!.data]).toEqual(new Array(16).fill(1))
  }, 30_000)
})
