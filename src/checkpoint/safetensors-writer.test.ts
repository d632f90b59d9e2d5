// Proves writeSafetensors' layout: header JSON, 8-byte padding, wider dtypes first, and that an
// independent decoder (numpy) reads back the values we wrote.
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { writeSafetensors } from "./safetensors-writer.ts"
import { hasPython3, makeTempDir, runPython, seededSource, seededValues } from "./testing/fixtures.ts"

const { dir, cleanup } = makeTempDir("safetensors-writer")
afterAll(cleanup)

const hasNumpy = hasPython3() && Bun.spawnSync(["python3", "-c", "import numpy"]).exitCode === 0

describe("writeSafetensors", () => {
  test("header lists wider dtypes first, keeps the given order otherwise, and pads to 8 bytes", () => {
    const path = join(dir, "order.safetensors")
    writeSafetensors(path, [
      seededSource("b", "float16", [3], 1),
      seededSource("a", "float32", [2], 2),
      seededSource("c", "bfloat16", [1], 3),
      seededSource("d", "float32", [1], 4),
    ])
    const bytes = readFileSync(path)
    const headerLength = Number(bytes.readBigUInt64LE(0))
    expect(headerLength % 8).toBe(0)
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"))
    expect(Object.keys(header)).toEqual(["__metadata__", "a", "d", "b", "c"])
    expect(header.__metadata__).toEqual({ format: "pt" })
    expect(header.a).toEqual({ dtype: "F32", shape: [2], data_offsets: [0, 8] })
    expect(header.d.data_offsets).toEqual([8, 12])
    expect(header.b).toEqual({ dtype: "F16", shape: [3], data_offsets: [12, 18] })
    expect(header.c).toEqual({ dtype: "BF16", shape: [1], data_offsets: [18, 20] })
    expect(bytes.length).toBe(8 + headerLength + 20)
  })

  test.skipIf(!hasNumpy)("numpy decodes the F32 and F16 data we wrote", () => {
    const path = join(dir, "numpy.safetensors")
    writeSafetensors(path, [seededSource("x", "float32", [4, 5], 7), seededSource("h", "float16", [6], 8)])
    const decoded = JSON.parse(
      runPython(
        `
import sys, json, numpy as np
raw = open(sys.argv[1], "rb").read()
n = int.from_bytes(raw[:8], "little"); header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
out = {}
for name, info in header.items():
    if name == "__metadata__": continue
    b, e = info["data_offsets"]
    out[name] = np.frombuffer(data[b:e], dtype={"F32": "<f4", "F16": "<f2"}[info["dtype"]]).astype(np.float64).tolist()
print(json.dumps(out))
`,
        [path],
      ),
    )
    expect(decoded.x).toEqual(Array.from(seededValues(7, 20)))
    const halves = seededValues(8, 6)
    decoded.h.forEach((value: number, i: number) => expect(Math.abs(value - halves[i]!)).toBeLessThanOrEqual(Math.abs(halves[i]!) / 1024))
  }, 30_000)

  test("duplicate names are rejected before anything is written", () => {
    const path = join(dir, "dup.safetensors")
    expect(() => writeSafetensors(path, [seededSource("w", "float32", [1], 1), seededSource("w", "float32", [1], 2)])).toThrow(
      /tensor "w".*two tensor sources/,
    )
    expect(() => readFileSync(path)).toThrow()
  })
})
