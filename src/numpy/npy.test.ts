// Proves .npy encoding/decoding: exact round trips per dtype, numpy's header layout, clear errors
// for files kiln cannot read, and agreement with numpy itself when a numpy python is available.

import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { dtypeSpecs, npyDTypes, type NpyArray, type NpyDType } from "./dtype.ts"
import { findNumpyPython, runPython } from "./find-numpy-python.ts"
import { NpyError } from "./npy-error.ts"
import { decodeNpy, encodeNpy } from "./npy.ts"

const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const randomArray = (dtype: NpyDType, shape: readonly number[], random: () => number): NpyArray => {
  const n = shape.reduce((a, b) => a * b, 1)
  const fill = <T extends { length: number; [i: number]: number }>(a: T, f: () => number): T => {
    for (let i = 0; i < a.length; i++) a[i] = f()
    return a
  }
  switch (dtype) {
    case "float32":
      return { dtype, shape, data: fill(new Float32Array(n), () => (random() - 0.5) * 1e4) }
    case "float64":
      return { dtype, shape, data: fill(new Float64Array(n), () => (random() - 0.5) * 1e300) }
    case "int32":
      return { dtype, shape, data: fill(new Int32Array(n), () => Math.floor((random() - 0.5) * 2 ** 32)) }
    case "int64": {
      const data = new BigInt64Array(n)
      for (let i = 0; i < n; i++) data[i] = (BigInt(Math.floor(random() * 2 ** 32)) << 31n) - BigInt(Math.floor(random() * 2 ** 32))
      return { dtype, shape, data }
    }
    case "float16":
      return { dtype, shape, data: fill(new Uint16Array(n), () => Math.floor(random() * 0x7c00)) }
    case "uint8":
      return { dtype, shape, data: fill(new Uint8Array(n), () => Math.floor(random() * 256)) }
    case "int8":
      return { dtype, shape, data: fill(new Int8Array(n), () => Math.floor(random() * 256) - 128) }
    case "bool":
      return { dtype, shape, data: fill(new Uint8Array(n), () => (random() < 0.5 ? 1 : 0)) }
  }
}

const expectNpyError = (run: () => unknown, reason: string, ...mentions: string[]) => {
  let caught: unknown
  try {
    run()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(NpyError)
  const error = caught as NpyError
  expect(error.reason).toBe(reason as NpyError["reason"])
  for (const m of mentions) expect(error.message).toContain(m)
}

/** A hand-built .npy file with an arbitrary header dict, for malformed-input tests. */
const rawNpy = (dict: string, data: Uint8Array, version = 1): Uint8Array => {
  const prefix = version === 1 ? 10 : 12
  const padded = dict + " ".repeat((64 - ((prefix + dict.length + 1) % 64)) % 64) + "\n"
  const out = new Uint8Array(prefix + padded.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0])
  const view = new DataView(out.buffer)
  if (version === 1) view.setUint16(8, padded.length, true)
  else view.setUint32(8, padded.length, true)
  out.set(new TextEncoder().encode(padded), prefix)
  out.set(data, prefix + padded.length)
  return out
}

describe("npy round trip", () => {
  const random = seededRandom(7)
  for (const dtype of npyDTypes) {
    for (const shape of [[], [5], [1, 512], [2, 3, 4], [0, 3]]) {
      test(`${dtype} shape [${shape.join(",")}] reads back bit-exactly`, () => {
        const array = randomArray(dtype, shape, random)
        const back = decodeNpy(encodeNpy(array))
        expect(back.dtype).toBe(dtype)
        expect(back.shape).toEqual(shape)
        expect(back.data.constructor).toBe(array.data.constructor)
        expect([...back.data]).toEqual([...array.data])
      })
    }
  }

  test("float32 NaN payloads and negative zero survive", () => {
    const data = new Float32Array([NaN, -0, Infinity, -Infinity, 1.401298464324817e-45])
    const back = decodeNpy(encodeNpy({ dtype: "float32", shape: [5], data }))
    expect(new Uint32Array(back.data.buffer)).toEqual(new Uint32Array(data.buffer))
  })

  test("decoded data is a copy, not a view of the input bytes", () => {
    const bytes = encodeNpy({ dtype: "uint8", shape: [2], data: new Uint8Array([1, 2]) })
    const back = decodeNpy(bytes)
    bytes[bytes.length - 1] = 99
    expect([...back.data]).toEqual([1, 2])
  })

  test("a subarray view is written with only its own elements", () => {
    const whole = new Float32Array([1, 2, 3, 4])
    const back = decodeNpy(encodeNpy({ dtype: "float32", shape: [2], data: whole.subarray(1, 3) }))
    expect([...back.data]).toEqual([2, 3])
  })
})

describe("npy header layout", () => {
  test("is numpy's dict, space-padded to a 64-byte boundary and ending in a newline", () => {
    const bytes = encodeNpy({ dtype: "float32", shape: [1, 512], data: new Float32Array(512) })
    expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
    const headerLength = bytes[8]! | (bytes[9]! << 8)
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength))
    expect(header.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 512), }")
    expect(header.endsWith(" \n")).toBe(true)
    expect((10 + headerLength) % 64).toBe(0)
    expect(bytes.length).toBe(10 + headerLength + 512 * 4)
  })

  test("writes numpy's tuple spelling for 0-d and 1-d shapes and each dtype's descr", () => {
    const text = (array: NpyArray) => new TextDecoder().decode(encodeNpy(array).subarray(10)).split("\n")[0]!.trimEnd()
    expect(text({ dtype: "bool", shape: [], data: new Uint8Array(1) })).toBe("{'descr': '|b1', 'fortran_order': False, 'shape': (), }")
    expect(text({ dtype: "int64", shape: [3], data: new BigInt64Array(3) })).toBe("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }")
    expect(text({ dtype: "float16", shape: [1], data: new Uint16Array(1) })).toContain("'<f2'")
    expect(text({ dtype: "int8", shape: [1], data: new Int8Array(1) })).toContain("'|i1'")
    expect(text({ dtype: "uint8", shape: [1], data: new Uint8Array(1) })).toContain("'|u1'")
  })

  test("reads format 2.0 and 3.0 headers and Python 2 long integers", () => {
    const data = new Uint8Array(new Int32Array([7, -8]).buffer)
    for (const version of [2, 3]) {
      const back = decodeNpy(rawNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data, version))
      expect([...back.data]).toEqual([7, -8])
    }
    const legacy = decodeNpy(rawNpy("{'descr': '<i4', 'shape': (1L, 2L), 'fortran_order': False}", data))
    expect(legacy.shape).toEqual([1, 2])
  })
})

describe("npy errors name the file and key", () => {
  const source = { file: "calib/3.npz", key: "input_ids" }
  const f4 = (shape: string, fortran = "False", descr = "<f4") => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`

  test("rejects data that is not .npy", () => {
    expectNpyError(() => decodeNpy(new TextEncoder().encode("PK\u0003\u0004 zip"), source), "bad-magic", "calib/3.npz", "input_ids")
  })
  test("rejects an unknown format version", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(1,)"), new Uint8Array(4), 4), source), "unsupported-version", "4.0", "calib/3.npz")
  })
  test("rejects Fortran-ordered arrays", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(2, 2)", "True"), new Uint8Array(16)), source), "fortran-order", "fortran_order", "input_ids")
  })
  test("rejects big-endian dtypes", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(1,)", "False", ">f4"), new Uint8Array(4)), source), "big-endian", ">f4", "input_ids")
  })
  test("rejects unknown and structured dtypes", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(1,)", "False", "<c8"), new Uint8Array(8)), source), "unsupported-dtype", "<c8", "input_ids")
    expectNpyError(() => decodeNpy(rawNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), source), "unsupported-dtype", "input_ids")
  })
  test("rejects truncated data, saying how many bytes were needed", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(1, 512)"), new Uint8Array(2047)), source), "truncated", "2048", "2047", "calib/3.npz", "input_ids")
  })
  test("rejects a truncated header", () => {
    const whole = rawNpy(f4("(1,)"), new Uint8Array(4))
    expectNpyError(() => decodeNpy(whole.subarray(0, 40), source), "truncated", "calib/3.npz")
    expectNpyError(() => decodeNpy(whole.subarray(0, 9), source), "truncated", "calib/3.npz")
  })
  test("rejects bytes after the data", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(1,)"), new Uint8Array(5)), source), "trailing-bytes", "1 unexpected")
  })
  test("rejects malformed header dicts without evaluating them", () => {
    expectNpyError(() => decodeNpy(rawNpy("{'descr': '<f4', 'shape': (1,), }", new Uint8Array(4)), source), "bad-header", "fortran_order")
    expectNpyError(() => decodeNpy(rawNpy("__import__('os').system('true')", new Uint8Array(4)), source), "bad-header", "input_ids")
    expectNpyError(() => decodeNpy(rawNpy(f4("(1, -2)"), new Uint8Array(4)), source), "bad-shape", "(1, -2)")
    expectNpyError(() => decodeNpy(rawNpy(f4("[1, 2]"), new Uint8Array(8)), source), "bad-header", "tuple")
    expectNpyError(() => decodeNpy(rawNpy(f4("(1,)") + " extra", new Uint8Array(4)), source), "bad-header")
  })
  test("rejects shapes whose byte size is not a safe integer", () => {
    expectNpyError(() => decodeNpy(rawNpy(f4("(4294967296, 4294967296)"), new Uint8Array(4)), source), "bad-shape", "too large")
  })
  test("refuses to encode data that disagrees with its shape or dtype", () => {
    expectNpyError(() => encodeNpy({ dtype: "float32", shape: [2, 2], data: new Float32Array(3) }, source), "bad-array", "4 elements", "3")
    expectNpyError(() => encodeNpy({ dtype: "int32", shape: [1], data: new Float32Array(1) } as unknown as NpyArray, source), "bad-array", "Int32Array", "Float32Array")
    expectNpyError(() => encodeNpy({ dtype: "float32", shape: [1.5], data: new Float32Array(1) }, source), "bad-array", "non-negative integers")
    expectNpyError(() => encodeNpy({ dtype: "bool", shape: [3], data: new Uint8Array([1, 0, 2]) }, source), "bad-array", "found 2 at index 2")
  })
})

const python = findNumpyPython()

describe.skipIf(python === null)("npy agrees with numpy (needs a python3 with numpy)", () => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-npy-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test("numpy-written files of every dtype and format version read back exactly", () => {
    // Values follow a formula both sides compute, so the check needs no data passed between them.
    const script = `
import numpy as np, sys
from numpy.lib import format as fmt
d = sys.argv[1]
i = np.arange(24).reshape(2, 3, 4)
arrays = {
    "float32": ((i - 11.5) / 3).astype("<f4"),
    "float64": ((i - 11.5) / 7).astype("<f8"),
    "int32": (i * 100003 - 7).astype("<i4"),
    "int64": (i.astype("<i8") * 10**15 - 3),
    "float16": ((i - 11.5) / 5).astype("<f2"),
    "uint8": (i * 11 % 256).astype("|u1"),
    "int8": (i * 11 % 256 - 128).astype("|i1"),
    "bool": (i % 3 == 0),
}
for name, a in arrays.items():
    np.save(f"{d}/{name}.npy", a)
    for v in [(2, 0), (3, 0)]:
        with open(f"{d}/{name}.v{v[0]}.npy", "wb") as f:
            fmt.write_array(f, a, version=v)
print(np.float16((np.arange(24) - 11.5) / 5).astype("<f2").view("<u2").tolist())
`
    const halfBits = JSON.parse(runPython(python!, script, [dir])) as number[]
    const idx = Array.from({ length: 24 }, (_, k) => k)
    const expected: Record<NpyDType, (number | bigint)[]> = {
      float32: idx.map((k) => Math.fround((k - 11.5) / 3)),
      float64: idx.map((k) => (k - 11.5) / 7),
      int32: idx.map((k) => k * 100003 - 7),
      int64: idx.map((k) => BigInt(k) * 10n ** 15n - 3n),
      float16: halfBits,
      uint8: idx.map((k) => (k * 11) % 256),
      int8: idx.map((k) => ((k * 11) % 256) - 128),
      bool: idx.map((k) => (k % 3 === 0 ? 1 : 0)),
    }
    for (const dtype of npyDTypes) {
      for (const suffix of ["", ".v2", ".v3"]) {
        const file = join(dir, `${dtype}${suffix}.npy`)
        const array = decodeNpy(new Uint8Array(readFileSync(file)), { file })
        expect(array.dtype).toBe(dtype)
        expect(array.shape).toEqual([2, 3, 4])
        expect([...array.data]).toEqual(expected[dtype])
      }
    }
  }, 30_000)

  test("numpy loads our files with the exact dtype, shape and values", () => {
    const random = seededRandom(11)
    const arrays = npyDTypes.map((dtype) => randomArray(dtype, [3, 5], random))
    for (const array of arrays) writeFileSync(join(dir, `ours-${array.dtype}.npy`), encodeNpy(array))
    const script = `
import numpy as np, sys, json
out = {}
for name in sys.argv[2:]:
    a = np.load(f"{sys.argv[1]}/ours-{name}.npy")
    vals = a.view("<u2") if a.dtype == np.float16 else a
    out[name] = {"descr": a.dtype.str, "shape": list(a.shape), "c": bool(a.flags.c_contiguous),
                 "values": [float(v).hex() for v in vals.ravel()] if vals.dtype.kind == "f" else [str(v) for v in vals.ravel().tolist()]}
print(json.dumps(out))
`
    const loaded = JSON.parse(runPython(python!, script, [dir, ...npyDTypes])) as Record<string, { descr: string; shape: number[]; values: string[] }>
    for (const array of arrays) {
      const got = loaded[array.dtype]!
      expect(got.descr).toBe(dtypeSpecs[array.dtype].descr)
      expect(got.shape).toEqual([3, 5])
      if (array.dtype === "float32" || array.dtype === "float64") {
        expect(got.values.map((h) => parsePythonHexFloat(h))).toEqual([...array.data] as number[])
      } else if (array.dtype === "bool") {
        expect(got.values).toEqual([...array.data].map((v) => (v ? "True" : "False")))
      } else {
        expect(got.values).toEqual([...array.data].map((v) => String(v)))
      }
    }
  }, 30_000)
})

/** Parses Python's float.hex() output (e.g. "-0x1.8p+3") exactly. */
const parsePythonHexFloat = (text: string): number => {
  const m = /^(-)?0x([01])\.([0-9a-f]*)p([+-]\d+)$/.exec(text)
  if (m === null) return Number(text)
  const mantissa = BigInt(`0x${m[2]}${m[3]}`)
  const exponent = Number(m[4]) - 4 * m[3]!.length
  const value = Number(mantissa) * 2 ** exponent
  return m[1] ? -value : value
}
