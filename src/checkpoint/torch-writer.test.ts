// Proves writeTorchStateDict produces torch.save's layout: the pickle matches CPython's pickler
// on the same object graph, pickletools can disassemble it, and the zip is valid and aligned.
import { afterAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { hasPython3, makeTempDir, runPython, seededSource } from "./testing/fixtures.ts"
import { contiguousStrides, torchStateDictPickle, writeTorchStateDict } from "./torch-writer.ts"

const { dir, cleanup } = makeTempDir("torch-writer")
afterAll(cleanup)

const sources = [
  seededSource("embeddings.word_embeddings.weight", "float32", [300, 8], 1),
  seededSource("encoder.layer.0.attention.self.query.bias", "float16", [8], 2),
  seededSource("pooler.dense.weight", "bfloat16", [2, 3, 4, 5], 3),
  seededSource("scalar", "float32", [], 4),
]

// Emulates torch.save's pickling of a state dict with stand-ins for torch's classes, so the
// bytes CPython produces can be compared with ours without installing torch.
const cpythonTorchPickle = `
import sys, types, pickle, collections, json
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
def _rebuild_tensor_v2(*args): pass
_rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
classes = {}
for name in ["FloatStorage", "HalfStorage", "BFloat16Storage"]:
    cls = type(name, (), {}); cls.__module__ = "torch"; setattr(torch, name, cls); classes[name] = cls
class Storage:
    def __init__(self, cls, key, numel): self.cls, self.key, self.numel = cls, key, numel
class Tensor:
    def __init__(self, storage, size, stride): self.storage, self.size, self.stride = storage, size, stride
    def __reduce_ex__(self, proto):
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.size), self.stride, False, collections.OrderedDict()))
class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage): return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None
kind = {"float32": "FloatStorage", "float16": "HalfStorage", "bfloat16": "BFloat16Storage"}
spec = json.loads(sys.argv[1])
state = collections.OrderedDict()
for i, (name, dtype, shape, stride) in enumerate(spec):
    numel = 1
    for d in shape: numel *= d
    state[name] = Tensor(Storage(classes[kind[dtype]], str(i), numel), shape, tuple(stride))
out = __import__("io").BytesIO(); Pickler(out, protocol=2).dump(state)
print(out.getvalue().hex())
`

describe("writeTorchStateDict", () => {
  test.skipIf(!hasPython3())("pickle bytes equal CPython's pickle of the same torch state dict", () => {
    const spec = sources.map((s) => [s.name, s.dtype, s.shape, contiguousStrides(s.shape)])
    const expected = runPython(cpythonTorchPickle, [JSON.stringify(spec)]).trim()
    expect(Buffer.from(torchStateDictPickle(sources)).toString("hex")).toBe(expected)
  }, 30_000)

  test.skipIf(!hasPython3())("pickle of more than 1000 tensors (two SETITEMS batches, long memo ids) matches CPython", () => {
    const many = Array.from({ length: 1001 }, (_, i) => seededSource(`t${i}`, "float32", [i % 3, 70000], i))
    const spec = many.map((s) => [s.name, s.dtype, s.shape, contiguousStrides(s.shape)])
    const expected = runPython(cpythonTorchPickle, [JSON.stringify(spec)]).trim()
    expect(Buffer.from(torchStateDictPickle(many)).toString("hex")).toBe(expected)
  }, 30_000)

  test.skipIf(!hasPython3())("the archive has torch.save's records, 64-byte aligned, and pickletools disassembles data.pkl", () => {
    const path = join(dir, "pytorch_model.bin")
    writeTorchStateDict(path, sources)
    const report = JSON.parse(
      runPython(
        `
import sys, zipfile, pickletools, io, json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
infos = z.infolist()
f = open(sys.argv[1], "rb")
offsets = []
for info in infos:
    f.seek(info.header_offset + 26); n, m = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
    offsets.append(info.header_offset + 30 + n + m)
out = io.StringIO(); pickletools.dis(z.read("pytorch_model/data.pkl"), out=out)
print(json.dumps({"names": [i.filename for i in infos], "offsets": offsets, "dis": out.getvalue(),
  "version": z.read("pytorch_model/version").decode(), "byteorder": z.read("pytorch_model/byteorder").decode(),
  "data1": z.read("pytorch_model/data/1").hex()}))
`,
        [path],
      ),
    )
    expect(report.names).toEqual([
      "pytorch_model/data.pkl",
      "pytorch_model/.format_version",
      "pytorch_model/.storage_alignment",
      "pytorch_model/byteorder",
      "pytorch_model/data/0",
      "pytorch_model/data/1",
      "pytorch_model/data/2",
      "pytorch_model/data/3",
      "pytorch_model/version",
    ])
    for (const offset of report.offsets) expect(offset % 64).toBe(0)
    expect(report.version).toBe("3\n")
    expect(report.byteorder).toBe("little")
    expect(report.dis).toContain("GLOBAL     'torch._utils _rebuild_tensor_v2'")
    expect(report.dis).toContain("GLOBAL     'torch HalfStorage'")
    expect(report.dis).toContain("BINPERSID")
    expect(report.data1.length).toBe(8 * 2 * 2)
  }, 30_000)

  test("output is byte-for-byte deterministic", () => {
    const a = join(dir, "a.bin")
    const b = join(dir, "b.bin")
    writeTorchStateDict(a, sources, { archiveName: "archive" })
    writeTorchStateDict(b, sources, { archiveName: "archive" })
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0)
  })

  test("a source whose values disagree with its shape names the tensor and leaves no file", () => {
    const path = join(dir, "bad.bin")
    const bad = { name: "w", dtype: "float32", shape: [2, 2], values: () => new Float32Array(3) } as const
    expect(() => writeTorchStateDict(path, [bad])).toThrow(/tensor "w".*needs 4 values, got 3/)
    expect(() => readFileSync(path)).toThrow()
  })
})
