// Proves readTorchStateDict: exact round trips with writeTorchStateDict, storage offsets and
// non-contiguous strides from hand-built pickles, and clear errors for unsafe or broken files.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { float16ToFloat32 } from "../tensor/index.ts"
import { writeZip } from "../zip/index.ts"
import { CheckpointError, PickleSecurityError } from "./errors.ts"
import { PyGlobal, PyPersistent, PyReduce, PyTuple, type PyValue, pickleProtocol2 } from "./pickle-writer.ts"
import { catchError, makeTempDir, seededSource, seededValues } from "./testing/fixtures.ts"
import { gatherStrided, readTorchStateDict } from "./torch.ts"
import { writeTorchStateDict } from "./torch-writer.ts"

const { dir, cleanup } = makeTempDir("torch")
afterAll(cleanup)

const orderedDict = new PyGlobal("collections", "OrderedDict")
const rebuildTensor = new PyGlobal("torch._utils", "_rebuild_tensor_v2")
const rebuildParameter = new PyGlobal("torch._utils", "_rebuild_parameter")
const floatStorage = new PyGlobal("torch", "FloatStorage")

const tensorPickle = (key: string, numel: number, offset: number, size: number[], stride: number[]): PyReduce =>
  new PyReduce(
    rebuildTensor,
    new PyTuple([
      new PyPersistent(new PyTuple(["storage", floatStorage, key, "cpu", numel])),
      offset,
      new PyTuple(size),
      new PyTuple(stride),
      false,
      new PyReduce(orderedDict, new PyTuple([])),
    ]),
  )

const floatBytes = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer)

/** A torch-style archive from hand-made state-dict items and storages. */
const handBuiltCheckpoint = (
  name: string,
  items: readonly (readonly [PyValue, PyValue])[],
  storages: Record<string, Uint8Array>,
  transformPickle: (pickle: Uint8Array) => Uint8Array = (p) => p,
): string => {
  const path = join(dir, name)
  const pickle = transformPickle(pickleProtocol2(new PyReduce(orderedDict, new PyTuple([]), items)))
  writeZip(path, [
    { name: "archive/data.pkl", data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: "archive/version", data: new TextEncoder().encode("3\n") },
  ], { align: 64 })
  return path
}


describe("readTorchStateDict", () => {
  test("round trip with writeTorchStateDict: float32 exact, float16/bfloat16 exact on representable values", () => {
    const path = join(dir, "pytorch_model.bin")
    // Every 997th float16 bit pattern: subnormals, normals, ±0, no NaN.
    const halves = float16ToFloat32(new Uint16Array(66).map((_, i) => i * 997)).filter((v) => !Number.isNaN(v))
    writeTorchStateDict(path, [
      seededSource("encoder.layer.0.output.dense.weight", "float32", [16, 12], 1),
      { name: "h", dtype: "float16", shape: [halves.length], values: () => halves },
      { name: "b", dtype: "bfloat16", shape: [2], values: () => new Float32Array([1.5, -Infinity]) },
      seededSource("scalar", "float32", [], 2),
      seededSource("empty", "float32", [0, 4], 3),
    ])
    const checkpoint = readTorchStateDict(path)
    try {
      const tensors = checkpoint.tensors
      expect([...tensors.keys()]).toEqual(["encoder.layer.0.output.dense.weight", "h", "b", "scalar", "empty"])
      const weight = tensors.get("encoder.layer.0.output.dense.weight")!
      expect([weight.dtype, weight.shape]).toEqual(["float32", [16, 12]])
      expect(weight.readFloat32()).toEqual(seededValues(1, 192))
      expect(tensors.get("h")!.dtype).toBe("float16")
      expect(tensors.get("h")!.readFloat32()).toEqual(halves)
      expect(Array.from(tensors.get("b")!.readFloat32())).toEqual([1.5, -Infinity])
      expect(tensors.get("scalar")!.shape).toEqual([])
      expect(tensors.get("scalar")!.readFloat32()).toEqual(seededValues(2, 1))
      expect(tensors.get("empty")!.readFloat32().length).toBe(0)
    } finally {
      checkpoint.close()
    }
  })

  test("storage offsets, a transposed stride, shared storages, parameters and _metadata state are honoured", () => {
    const storage0 = Array.from({ length: 20 }, (_, i) => i)
    const matrix = [1, 2, 3, 4, 5, 6] // [[1, 2, 3], [4, 5, 6]]
    const path = handBuiltCheckpoint(
      "strided.bin",
      [
        ["offset", tensorPickle("0", 20, 2, [2, 3], [3, 1])],
        ["transposed", tensorPickle("1", 6, 0, [3, 2], [1, 3])],
        ["permuted3d", tensorPickle("0", 20, 1, [2, 2, 3], [1, 6, 2])],
        ["column", tensorPickle("1", 6, 1, [2], [3])],
        ["parameter", new PyReduce(rebuildParameter, new PyTuple([tensorPickle("1", 6, 0, [2, 3], [3, 1]), true, new PyReduce(orderedDict, new PyTuple([]))]))],
      ],
      { "0": floatBytes(storage0), "1": floatBytes(matrix) },
      // state_dict() pickles end with BUILD({"_metadata": OrderedDict}); splice one in before STOP.
      (pickle) => Uint8Array.from([...pickle.subarray(0, -1), 0x7d, 0x58, 9, 0, 0, 0, ...new TextEncoder().encode("_metadata"), 0x7d, 0x73, 0x62, 0x2e]),
    )
    const checkpoint = readTorchStateDict(path)
    try {
      const read = (name: string) => Array.from(checkpoint.tensors.get(name)!.readFloat32())
      expect(read("offset")).toEqual([2, 3, 4, 5, 6, 7])
      expect(read("transposed")).toEqual([1, 4, 2, 5, 3, 6])
      expect(checkpoint.tensors.get("transposed")!.shape).toEqual([3, 2])
      // element [i][j][k] = storage[1 + i + 6j + 2k]
      expect(read("permuted3d")).toEqual([1, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10, 12])
      expect(read("column")).toEqual([2, 5])
      expect(read("parameter")).toEqual(matrix)
    } finally {
      checkpoint.close()
    }
  })

  test("gatherStrided matches index arithmetic", () => {
    const span = Float32Array.from({ length: 60 }, (_, i) => i)
    const out = gatherStrided(span, 5, [3, 4, 2], [1, 12, 3])
    const expected: number[] = []
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 2; k++) expected.push(5 + i + 12 * j + 3 * k)
    expect(Array.from(out)).toEqual(expected)
  })

  test("a checkpoint whose pickle calls os.system is refused with nothing executed", () => {
    const marker = join(dir, "pwned")
    const path = join(dir, "evil.bin")
    const evil = Uint8Array.from(`\x80\x02cos\nsystem\nX${String.fromCharCode(6 + marker.length)}\0\0\0touch ${marker}\x85R.`, (c) => c.charCodeAt(0))
    writeZip(path, [{ name: "archive/data.pkl", data: evil }])
    const error = catchError(() => readTorchStateDict(path))
    expect(error).toBeInstanceOf(PickleSecurityError)
    expect(error.message).toMatch(/evil\.bin:archive\/data\.pkl \(pickle offset 2\): refusing to load global "os\.system"/)
    expect(existsSync(marker)).toBe(false)
  })

  test("a view reaching past its storage names the tensor", () => {
    const path = handBuiltCheckpoint("overrun.bin", [["w", tensorPickle("0", 4, 2, [2, 2], [2, 1])]], { "0": floatBytes([1, 2, 3, 4]) })
    const error = catchError(() => readTorchStateDict(path))
    expect(error).toBeInstanceOf(CheckpointError)
    expect(error.message).toMatch(/overrun\.bin \(tensor "w"\): the view .* reaches element 6 of a 4-element storage/)
  })

  test("a missing or short storage entry names the tensor", () => {
    const missing = handBuiltCheckpoint("missing.bin", [["w", tensorPickle("7", 2, 0, [2], [1])]], {})
    expect(catchError(() => readTorchStateDict(missing)).message).toMatch(/tensor "w".*"archive\/data\/7" is missing/)
    const short = handBuiltCheckpoint("short.bin", [["w", tensorPickle("0", 4, 0, [4], [1])]], { "0": floatBytes([1, 2]) })
    const error = catchError(() => readTorchStateDict(short))
    expect((error as CheckpointError).reason).toBe("Truncated")
    expect(error.message).toMatch(/tensor "w".*holds 8 bytes, 4 float32 elements need 16/)
  })

  test("a legacy non-zip torch file, a zip without data.pkl and a non-dict root are explained", () => {
    const legacy = join(dir, "legacy.bin")
    writeFileSync(legacy, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, ...new Array(40).fill(0)]))
    expect(catchError(() => readTorchStateDict(legacy)).message).toMatch(/legacy\.bin: this is a legacy \(pre-1\.6, non-zip\) torch file/)
    const noPickle = join(dir, "nopickle.bin")
    writeZip(noPickle, [{ name: "archive/other", data: new Uint8Array(1) }])
    expect(catchError(() => readTorchStateDict(noPickle)).message).toMatch(/no <archive>\/data\.pkl entry/)
    const list = join(dir, "list.bin")
    writeZip(list, [{ name: "archive/data.pkl", data: Uint8Array.from([0x80, 0x02, 0x5d, 0x2e]) }])
    expect(catchError(() => readTorchStateDict(list)).message).toMatch(/list\.bin: the pickled object is not a dict of tensors/)
  })

  test("a state-dict key or storage key with a `..` segment or an absolute path is refused, naming it", () => {
    const dotdotKey = handBuiltCheckpoint("dotdot-key.bin", [["../../w", tensorPickle("0", 1, 0, [1], [1])]], { "0": floatBytes([1]) })
    const keyError = catchError(() => readTorchStateDict(dotdotKey))
    expect((keyError as CheckpointError).reason).toBe("InvalidTensor")
    expect(keyError.message).toMatch(/dotdot-key\.bin \(tensor "\.\.\/\.\.\/w"\): .*`\.\.` segment/)
    const absoluteStorage = handBuiltCheckpoint("absolute-storage.bin", [["w", tensorPickle("/etc/passwd", 1, 0, [1], [1])]], { "0": floatBytes([1]) })
    expect(catchError(() => readTorchStateDict(absoluteStorage)).message).toMatch(/absolute-storage\.bin \(tensor "w"\): storage key "\/etc\/passwd".*absolute path/)
  })

  test("reading after close is a Closed error", () => {
    const path = join(dir, "closed.bin")
    writeTorchStateDict(path, [seededSource("w", "float32", [2], 1)])
    const checkpoint = readTorchStateDict(path)
    checkpoint.close()
    expect((catchError(() => checkpoint.tensors.get("w")!.readFloat32()) as CheckpointError).reason).toBe("Closed")
  })
})
