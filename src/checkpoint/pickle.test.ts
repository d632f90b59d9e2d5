// Proves the unpickler is safe (globals outside the allow-list fail at their opcode, nothing runs)
// and correct on the value opcodes CPython emits for protocols 2 and 4.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { PickleError, PickleSecurityError } from "./errors.ts"
import { isAllowedGlobal, unpickleTorch } from "./pickle.ts"
import { catchError, hasPython3, makeTempDir, runPython } from "./testing/fixtures.ts"

const { dir, cleanup } = makeTempDir("pickle")
afterAll(cleanup)

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0))


describe("unpickleTorch refuses globals outside the allow-list", () => {
  test("os.system via GLOBAL fails at that opcode, before the call is even read", () => {
    // Everything after the GLOBAL is garbage: reaching it would give a different error.
    const evil = ascii("cos\nsystem\n\xff\xff\xff")
    const error = catchError(() => unpickleTorch(evil, "evil.pkl"))
    expect(error).toBeInstanceOf(PickleSecurityError)
    expect((error as PickleSecurityError).global).toBe("os.system")
    expect((error as PickleSecurityError).offset).toBe(0)
    expect(error.message).toMatch(/^evil\.pkl \(pickle offset 0\): refusing to load global "os\.system"/)
  })

  test("builtins.eval via STACK_GLOBAL (protocol 4) is refused", () => {
    const evil = Uint8Array.from([
      0x80, 0x04, 0x8c, 0x08, ...ascii("builtins"), 0x94, 0x8c, 0x04, ...ascii("eval"), 0x94, 0x93, 0x8c, 0x01, 0x31, 0x85, 0x52, 0x2e,
    ])
    const error = catchError(() => unpickleTorch(evil, "eval.pkl"))
    expect(error).toBeInstanceOf(PickleSecurityError)
    expect(error.message).toMatch(/eval\.pkl \(pickle offset 20\): refusing to load global "builtins\.eval"/)
  })

  test("posix.system and subprocess.Popen via the protocol-0 INST opcode are refused", () => {
    for (const [module, name] of [["posix", "system"], ["subprocess", "Popen"], ["__builtin__", "exec"]]) {
      const error = catchError(() => unpickleTorch(ascii(`(i${module}\n${name}\n.`), "inst.pkl"))
      expect(error).toBeInstanceOf(PickleSecurityError)
      expect((error as PickleSecurityError).global).toBe(`${module}.${name}`)
    }
  })

  test.skipIf(!hasPython3())("a real malicious pickle made by CPython is refused and its command never runs", () => {
    const marker = join(dir, "pwned")
    const hex = runPython(
      `
import os, pickle, sys
class Evil:
    def __reduce__(self): return (os.system, ("touch " + sys.argv[1],))
print(pickle.dumps({"weight": Evil()}, protocol=2).hex())
`,
      [marker],
    ).trim()
    const error = catchError(() => unpickleTorch(Buffer.from(hex, "hex"), "pytorch_model.bin:archive/data.pkl"))
    expect(error).toBeInstanceOf(PickleSecurityError)
    expect(error.message).toMatch(/pytorch_model\.bin:archive\/data\.pkl .*refusing to load global "(posix|os)\.system"/)
    expect(existsSync(marker)).toBe(false)
  }, 30_000)

  test("the allow-list holds the tensor-rebuilding globals only", () => {
    expect(isAllowedGlobal("torch._utils", "_rebuild_tensor_v2")).toBe(true)
    expect(isAllowedGlobal("torch", "BFloat16Storage")).toBe(true)
    expect(isAllowedGlobal("collections", "OrderedDict")).toBe(true)
    expect(isAllowedGlobal("torch", "load")).toBe(false)
    expect(isAllowedGlobal("builtins", "getattr")).toBe(false)
  })
})

describe("unpickleTorch reports malformed pickles with their offset", () => {
  test("a byte that is no pickle opcode says so and that the file needs re-saving", () => {
    const error = catchError(() => unpickleTorch(Uint8Array.from([0x80, 0x02, 0x4e, 0xff]), "x.pkl"))
    expect(error).toBeInstanceOf(PickleError)
    expect(error.message).toBe(
      "x.pkl (pickle offset 3): byte 0xff is not an opcode of pickle protocols 0–5: the file is corrupt or not a torch.save pickle; re-save the checkpoint (torch.save, or as safetensors)",
    )
  })

  test("a real opcode kiln does not read is named, with its protocol, and the file needs re-saving", () => {
    // 0x96 is BYTEARRAY8 (protocol 5), which torch.save never writes.
    const error = catchError(() => unpickleTorch(Uint8Array.from([0x80, 0x05, 0x96]), "y.pkl"))
    expect(error.message).toBe(
      "y.pkl (pickle offset 2): pickle opcode 0x96 BYTEARRAY8 (protocol 5) is not one torch.save writes, so kiln does not read it; re-save the checkpoint with torch.save (protocol 2) or as safetensors",
    )
    // A protocol-0 text opcode (INT, 'I') is named too.
    expect(catchError(() => unpickleTorch(Uint8Array.from([0x49, 0x31, 0x0a, 0x2e]), "z.pkl")).message).toContain("opcode 0x49 INT (protocol 0)")
  })

  test("a pickle cut off inside a string and one without STOP", () => {
    expect(catchError(() => unpickleTorch(Uint8Array.from([0x80, 0x02, 0x58, 0x10, 0, 0, 0, 0x61]), "cut.pkl")).message).toMatch(
      /cut\.pkl \(pickle offset 2\): the pickle ends inside an opcode/,
    )
    expect(catchError(() => unpickleTorch(Uint8Array.from([0x80, 0x02, 0x4e]), "nostop.pkl")).message).toMatch(/without a STOP/)
  })

  test("calling an allowed non-callable and a BINGET of a missing memo entry", () => {
    expect(catchError(() => unpickleTorch(ascii("ctorch\nFloatStorage\n)R."), "c.pkl")).message).toMatch(/torch\.FloatStorage cannot be called/)
    expect(catchError(() => unpickleTorch(Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]), "m.pkl")).message).toMatch(/memo entry 5/)
  })
})

describe("unpickleTorch decodes values", () => {
  test.skipIf(!hasPython3())("CPython protocol 2 and 4 pickles of dicts, lists, tuples, ints, floats and strings", () => {
    for (const protocol of [2, 4]) {
      const hex = runPython(
        `
import pickle, collections, sys
value = collections.OrderedDict([("a", [1, -2, 300, 70000, -70000, 2**40, -2**70, 1.5, None, True, False, "ü" * 300]),
  ("t", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)]), ("d", {"x": {"y": [[]]}})])
value["shared"] = value["t"]
print(pickle.dumps(value, protocol=int(sys.argv[1])).hex())
`,
        [String(protocol)],
      ).trim()
      const value = unpickleTorch(Buffer.from(hex, "hex"), "values.pkl") as Map<string, unknown>
      expect(value.get("a")).toEqual([1, -2, 300, 70000, -70000, 2 ** 40, -(2n ** 70n), 1.5, null, true, false, "ü".repeat(300)])
      expect(value.get("t")).toEqual([[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]])
      expect(value.get("d")).toEqual(new Map([["x", new Map([["y", [[]]]])]]))
      expect(value.get("shared")).toBe(value.get("t"))
    }
  }, 30_000)
})

describe("unpickleTorch on large containers", () => {
  test("APPENDS with a million items builds the list without overflowing the stack", () => {
    const n = 1_000_000
    // PROTO 2, EMPTY_LIST, MARK, n × BININT1 (i % 256), APPENDS, STOP
    const bytes = new Uint8Array(4 + 2 * n + 2)
    bytes.set([0x80, 0x02, 0x5d, 0x28])
    for (let i = 0; i < n; i++) bytes.set([0x4b, i % 256], 4 + 2 * i)
    bytes.set([0x65, 0x2e], 4 + 2 * n)
    const value = unpickleTorch(bytes, "big.pkl") as number[]
    expect(value).toHaveLength(n)
    expect(value[n - 1]).toBe((n - 1) % 256)
  }, 30_000)
})
