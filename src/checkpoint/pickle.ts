// A safe unpickler for PyTorch state dicts: an interpreter for the pickle opcodes torch.save emits
// that resolves globals only against an allow-list of inert tensor-rebuilding stand-ins. Nothing
// in the file is ever executed; any other global fails at its GLOBAL opcode.
import type { DType } from "../tensor/index.ts"
import { PickleError, PickleSecurityError } from "./errors.ts"
import { unreadableOpcodeMessage } from "./pickle-opcodes.ts"

/** A storage named by a persistent id: `data/<key>` in the archive holds `numel` elements of `dtype`. */
export interface StorageRef {
  readonly kind: "storage"
  readonly dtype: DType
  readonly key: string
  readonly location: string
  readonly numel: number
}

/** What `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)` describes. */
export interface TensorRef {
  readonly kind: "tensor"
  readonly storage: StorageRef
  /** In elements. */
  readonly storageOffset: number
  readonly size: readonly number[]
  /** In elements. */
  readonly stride: readonly number[]
}

/** An allow-listed global: a class or function stand-in with the behaviour kiln needs of it. */
export interface PickleGlobal {
  readonly kind: "global"
  readonly qualifiedName: string
  /** REDUCE / NEWOBJ on this global. */
  readonly call?: (args: readonly PickleValue[], fail: (message: string) => never) => PickleValue
  /** Set for torch storage classes. */
  readonly storageDType?: DType
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | Set<PickleValue>
  | PickleGlobal
  | StorageRef
  | TensorRef

const storageClasses: Readonly<Record<string, DType>> = {
  FloatStorage: "float32",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  DoubleStorage: "float64",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
}

const isInt = (value: PickleValue): value is number => typeof value === "number" && Number.isSafeInteger(value)
const isIntList = (value: PickleValue): value is number[] => Array.isArray(value) && value.every(isInt)

const rebuildTensor = (args: readonly PickleValue[], fail: (message: string) => never): TensorRef => {
  const [storage, storageOffset, size, stride] = args
  if (typeof storage !== "object" || storage === null || !("kind" in storage) || storage.kind !== "storage") {
    return fail("_rebuild_tensor_v2 expects a storage (persistent id) as its first argument")
  }
  if (!isInt(storageOffset ?? null) || !isIntList(size ?? null) || !isIntList(stride ?? null)) {
    return fail("_rebuild_tensor_v2 expects (storage, int offset, int[] size, int[] stride, …)")
  }
  return { kind: "tensor", storage, storageOffset: storageOffset as number, size: size as number[], stride: stride as number[] }
}

const makeGlobal = (qualifiedName: string, rest: Omit<PickleGlobal, "kind" | "qualifiedName"> = {}): PickleGlobal => ({
  kind: "global",
  qualifiedName,
  ...rest,
})

/** The allow-list: "module.name" → stand-in. Everything else is refused. */
const allowedGlobals: ReadonlyMap<string, PickleGlobal> = new Map<string, PickleGlobal>([
  ["collections.OrderedDict", makeGlobal("collections.OrderedDict", { call: () => new Map() })],
  ["torch._utils._rebuild_tensor_v2", makeGlobal("torch._utils._rebuild_tensor_v2", { call: rebuildTensor })],
  ["torch._utils._rebuild_tensor", makeGlobal("torch._utils._rebuild_tensor", { call: rebuildTensor })],
  // Parameters rebuild to their data; requires_grad and hooks mean nothing for inference.
  ["torch._utils._rebuild_parameter", makeGlobal("torch._utils._rebuild_parameter", { call: (args) => args[0] ?? null })],
  ["torch._utils._rebuild_parameter_with_state", makeGlobal("torch._utils._rebuild_parameter_with_state", { call: (args) => args[0] ?? null })],
  // _rebuild_from_type_v2(func, new_type, args, state): tensor subclasses; we keep the base tensor.
  [
    "torch._tensor._rebuild_from_type_v2",
    makeGlobal("torch._tensor._rebuild_from_type_v2", {
      call: (args, fail) => {
        const [func, , inner] = args
        if (typeof func !== "object" || func === null || !("kind" in func) || func.kind !== "global" || func.call === undefined || !Array.isArray(inner)) {
          return fail("_rebuild_from_type_v2 expects (rebuild function, type, args, state)")
        }
        return func.call(inner, fail)
      },
    }),
  ],
  ["torch.Tensor", makeGlobal("torch.Tensor")],
  ["torch.nn.parameter.Parameter", makeGlobal("torch.nn.parameter.Parameter")],
  ...Object.entries(storageClasses).map(([name, dtype]): [string, PickleGlobal] => [`torch.${name}`, makeGlobal(`torch.${name}`, { storageDType: dtype })]),
  ...["float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"].map(
    (name): [string, PickleGlobal] => [`torch.${name}`, makeGlobal(`torch.${name}`)],
  ),
])

/** Whether `module.name` is on the allow-list (exposed for tests and diagnostics). */
export const isAllowedGlobal = (module: string, name: string): boolean => allowedGlobals.has(`${module}.${name}`)

const MARK = Symbol("mark")
type StackItem = PickleValue | typeof MARK

const latin1 = new TextDecoder("latin1")
const utf8 = new TextDecoder("utf-8", { fatal: true })

const decodeLong = (bytes: Uint8Array): number | bigint => {
  if (bytes.length === 0) return 0
  let value = 0n
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!)
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(bytes.length * 8)
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
}

/**
 * Interprets `data` (a torch data.pkl) and returns the unpickled value: Maps for dicts, arrays for
 * lists and tuples, TensorRef for tensors. `file` names the pickle in errors.
 */
export const unpickleTorch = (data: Uint8Array, file: string): PickleValue => {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const stack: StackItem[] = []
  const marks: number[] = []
  const memo = new Map<number, PickleValue>()
  let at = 0
  let opcodeOffset = 0

  const fail = (message: string): never => {
    throw new PickleError(file, opcodeOffset, message)
  }
  const need = (n: number): number => {
    if (n < 0 || at + n > data.length) fail(`the pickle ends inside an opcode (needs ${n} more bytes)`)
    const start = at
    at += n
    return start
  }
  const u8 = (): number => data[need(1)]!
  const u16 = (): number => view.getUint16(need(2), true)
  const u32 = (): number => view.getUint32(need(4), true)
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true)
    if (value > BigInt(data.length)) fail(`a length of ${value} bytes exceeds the pickle`)
    return Number(value)
  }
  const bytes = (n: number): Uint8Array => {
    const start = need(n)
    return data.subarray(start, start + n)
  }
  const line = (): string => {
    const end = data.indexOf(0x0a, at)
    if (end < 0) fail("the pickle ends inside a text argument")
    const text = latin1.decode(data.subarray(at, end))
    at = end + 1
    return text
  }
  const text = (n: number): string => {
    const raw = bytes(n)
    try {
      return utf8.decode(raw)
    } catch {
      return fail("a string is not valid UTF-8")
    }
  }
  const pop = (): PickleValue => {
    const item = stack.pop()
    if (item === undefined || item === MARK) return fail("stack underflow")
    return item
  }
  const top = (): PickleValue => {
    const item = stack[stack.length - 1]
    if (item === undefined || item === MARK) return fail("stack underflow")
    return item
  }
  const popMark = (): PickleValue[] => {
    const mark = marks.pop()
    if (mark === undefined) return fail("no MARK to pop to")
    const items = stack.splice(mark)
    items.shift()
    return items as PickleValue[]
  }
  const resolveGlobal = (module: string, name: string): PickleGlobal => {
    const found = allowedGlobals.get(`${module}.${name}`)
    if (found === undefined) throw new PickleSecurityError(file, opcodeOffset, `${module}.${name}`)
    return found
  }
  const asGlobal = (value: PickleValue, what: string): PickleGlobal => {
    if (typeof value === "object" && value !== null && "kind" in value && value.kind === "global") return value
    return fail(`${what} expects a global on the stack`)
  }
  const call = (callable: PickleValue, args: PickleValue, what: string): PickleValue => {
    const global = asGlobal(callable, what)
    if (!Array.isArray(args)) return fail(`${what} of ${global.qualifiedName} expects an argument tuple`)
    if (global.call === undefined) return fail(`${global.qualifiedName} cannot be called in a state dict`)
    return global.call(args, fail)
  }
  const setItems = (target: PickleValue, items: readonly PickleValue[]): void => {
    if (!(target instanceof Map)) fail("SETITEM(S) expects a dict")
    if (items.length % 2 !== 0) fail("SETITEMS expects key/value pairs")
    for (let i = 0; i < items.length; i += 2) (target as Map<PickleValue, PickleValue>).set(items[i]!, items[i + 1]!)
  }
  const appendItems = (target: PickleValue, items: readonly PickleValue[]): void => {
    if (!Array.isArray(target)) fail("APPEND(S) expects a list")
    // One push per item: spreading a list of a million items into push() overflows the stack.
    for (const item of items) (target as PickleValue[]).push(item)
  }
  const memoGet = (index: number): PickleValue => {
    const value = memo.get(index)
    if (value === undefined) fail(`memo entry ${index} was never stored`)
    return value as PickleValue
  }
  const persistentLoad = (pid: PickleValue): StorageRef => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== "storage") {
      return fail("a persistent id must be ('storage', StorageType, key, location, numel)")
    }
    const [, type, key, location, numel] = pid
    const storageType = asGlobal(type!, "a storage persistent id")
    if (storageType.storageDType === undefined) return fail(`${storageType.qualifiedName} is not a storage type`)
    if (typeof key !== "string" || typeof location !== "string" || !isInt(numel!) || (numel as number) < 0) {
      return fail("a storage persistent id must hold a string key, a string location and a non-negative element count")
    }
    return { kind: "storage", dtype: storageType.storageDType, key, location, numel: numel as number }
  }

  while (true) {
    opcodeOffset = at
    if (at >= data.length) fail("the pickle ends without a STOP opcode")
    const opcode = data[at++]!
    switch (opcode) {
      case 0x80: // PROTO
        if (u8() > 5) fail("unsupported pickle protocol")
        break
      case 0x95: // FRAME: framing is only a buffering hint
        need(8)
        break
      case 0x2e: // STOP
        if (stack.length !== 1 || stack[0] === MARK) fail("STOP with a malformed stack")
        return stack[0] as PickleValue
      case 0x28: // MARK
        marks.push(stack.length)
        stack.push(MARK)
        break
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) {
          stack.pop()
          marks.pop()
        } else pop()
        break
      case 0x31: // POP_MARK
        popMark()
        break
      case 0x32: // DUP
        stack.push(top())
        break
      case 0x7d: // EMPTY_DICT
        stack.push(new Map())
        break
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x29: // EMPTY_TUPLE
        stack.push([])
        break
      case 0x8f: // EMPTY_SET
        stack.push(new Set())
        break
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark())
        break
      case 0x64: {
        // DICT
        const dict = new Map<PickleValue, PickleValue>()
        setItems(dict, popMark())
        stack.push(dict)
        break
      }
      case 0x85: // TUPLE1
        stack.push([pop()])
        break
      case 0x86: {
        // TUPLE2
        const b = pop()
        stack.push([pop(), b])
        break
      }
      case 0x87: {
        // TUPLE3
        const c = pop()
        const b = pop()
        stack.push([pop(), b, c])
        break
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark()
        const set = top()
        if (!(set instanceof Set)) fail("ADDITEMS expects a set")
        for (const item of items) (set as Set<PickleValue>).add(item)
        break
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()))
        break
      case 0x58: // BINUNICODE
        stack.push(text(u32()))
        break
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()))
        break
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()))
        break
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(latin1.decode(bytes(u8())))
        break
      case 0x54: // BINSTRING
        stack.push(latin1.decode(bytes(u32())))
        break
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice())
        break
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice())
        break
      case 0x8e: // BINBYTES8
        stack.push(bytes(u64()).slice())
        break
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true))
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x8a: // LONG1
        stack.push(decodeLong(bytes(u8())))
        break
      case 0x8b: // LONG4
        stack.push(decodeLong(bytes(u32())))
        break
      case 0x47: // BINFLOAT
        stack.push(view.getFloat64(need(8), false))
        break
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x68: // BINGET
        stack.push(memoGet(u8()))
        break
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()))
        break
      case 0x73: {
        // SETITEM
        const value = pop()
        const key = pop()
        setItems(top(), [key, value])
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        setItems(top(), items)
        break
      }
      case 0x61: {
        // APPEND
        const item = pop()
        appendItems(top(), [item])
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        appendItems(top(), items)
        break
      }
      case 0x63: {
        // GLOBAL
        const module = line()
        const name = line()
        stack.push(resolveGlobal(module, name))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL expects two strings")
        stack.push(resolveGlobal(module as string, name as string))
        break
      }
      case 0x69: {
        // INST: protocol-0 instantiation names its class inline, so it goes through the allow-list too.
        const module = line()
        const name = line()
        const global = resolveGlobal(module, name)
        stack.push(call(global, popMark(), "INST"))
        break
      }
      case 0x6f: {
        // OBJ
        const items = popMark()
        const cls = items.shift()
        stack.push(call(cls ?? null, items, "OBJ"))
        break
      }
      case 0x52: {
        // REDUCE
        const args = pop()
        const callable = pop()
        stack.push(call(callable, args, "REDUCE"))
        break
      }
      case 0x81: {
        // NEWOBJ
        const args = pop()
        const cls = pop()
        stack.push(call(cls, args, "NEWOBJ"))
        break
      }
      case 0x92: {
        // NEWOBJ_EX
        pop() // kwargs
        const args = pop()
        const cls = pop()
        stack.push(call(cls, args, "NEWOBJ_EX"))
        break
      }
      case 0x62: {
        // BUILD: state_dict() OrderedDicts carry `_metadata` (module versions) as instance state; unused.
        pop()
        const target = top()
        if (!(target instanceof Map)) fail("BUILD is only supported on dicts (state-dict metadata)")
        break
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()))
        break
      case 0x50: // PERSID
        fail("text persistent ids (PERSID) are not used by torch.save and are not supported")
        break
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4 name globals through the copyreg registry; refuse them like unknown globals.
        fail("extension-registry opcodes (EXT1/EXT2/EXT4) are not supported")
        break
      default:
        fail(unreadableOpcodeMessage(opcode))
    }
  }
}
