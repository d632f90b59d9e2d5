// A minimal protocol-2 pickler for the values a PyTorch state dict consists of. It reproduces
// CPython's choices (opcode per int range, TUPLE1-3, memo puts, SETITEMS batches of 1000) so the
// bytes match what torch.save emits for the same object graph.

/** A Python global (class or function), pickled as GLOBAL "module\nname\n". Memoised by identity. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** `callable(*args)`, then `result[key] = value` for each of `dictItems` (as `__reduce__` describes). */
export class PyReduce {
  constructor(
    readonly callable: PyGlobal,
    readonly args: PyTuple,
    readonly dictItems: readonly (readonly [PyValue, PyValue])[] = [],
  ) {}
}

/** An object the pickler replaces by its persistent id (torch: a storage). */
export class PyPersistent {
  constructor(readonly id: PyValue) {}
}

export type PyValue = null | boolean | number | bigint | string | PyGlobal | PyTuple | PyReduce | PyPersistent

const op = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  GLOBAL: 0x63,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  REDUCE: 0x52,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  BINPERSID: 0x51,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
} as const

const BATCH_SIZE = 1000
const utf8 = new TextEncoder()

/** Two's-complement little-endian bytes of `value`, as short as possible (pickle's encode_long). */
const encodeLong = (value: bigint): number[] => {
  if (value === 0n) return []
  const bytes: number[] = []
  let rest = value
  for (;;) {
    bytes.push(Number(rest & 0xffn))
    rest >>= 8n
    const last = bytes[bytes.length - 1]!
    if ((rest === 0n && (last & 0x80) === 0) || (rest === -1n && (last & 0x80) !== 0)) return bytes
  }
}

class Pickler {
  private bytes = new Uint8Array(1024)
  private length = 0
  /** Memo keys: objects by identity; strings by value (CPython memoises by id, and the torch
   *  graph never holds two equal strings that are distinct objects in a way that matters). */
  private readonly memo = new Map<object | string, number>()

  dump(value: PyValue): Uint8Array {
    this.write(op.PROTO, 2)
    this.save(value)
    this.write(op.STOP)
    return this.bytes.slice(0, this.length)
  }

  private save(value: PyValue): void {
    if (value instanceof PyPersistent) {
      this.save(value.id)
      this.write(op.BINPERSID)
      return
    }
    if (value !== null && (typeof value === "object" || typeof value === "string")) {
      const index = this.memo.get(value)
      if (index !== undefined) {
        this.writeMemoRef(index, op.BINGET, op.LONG_BINGET)
        return
      }
    }
    if (value === null) this.write(op.NONE)
    else if (value === true) this.write(op.NEWTRUE)
    else if (value === false) this.write(op.NEWFALSE)
    else if (typeof value === "number") this.saveNumber(value)
    else if (typeof value === "bigint") this.saveInt(value)
    else if (typeof value === "string") {
      const encoded = utf8.encode(value)
      this.write(op.BINUNICODE)
      this.writeUint32(encoded.length)
      this.writeBytes(encoded)
      this.memoize(value)
    } else if (value instanceof PyGlobal) {
      this.write(op.GLOBAL)
      this.writeBytes(utf8.encode(`${value.module}\n${value.name}\n`))
      this.memoize(value)
    } else if (value instanceof PyTuple) this.saveTuple(value)
    else this.saveReduce(value)
  }

  private saveNumber(value: number): void {
    if (Number.isInteger(value)) {
      this.saveInt(BigInt(value))
      return
    }
    const view = new DataView(new ArrayBuffer(8))
    view.setFloat64(0, value, false)
    this.write(op.BINFLOAT)
    this.writeBytes(new Uint8Array(view.buffer))
  }

  private saveInt(value: bigint): void {
    if (value >= 0n && value <= 0xffn) this.write(op.BININT1, Number(value))
    else if (value >= 0n && value <= 0xffffn) this.write(op.BININT2, Number(value & 0xffn), Number(value >> 8n))
    else if (value >= -0x80000000n && value <= 0x7fffffffn) {
      this.write(op.BININT)
      this.writeUint32(Number(BigInt.asUintN(32, value)))
    } else {
      const encoded = encodeLong(value)
      this.write(op.LONG1, encoded.length, ...encoded)
    }
  }

  private saveTuple(tuple: PyTuple): void {
    const n = tuple.items.length
    if (n === 0) {
      this.write(op.EMPTY_TUPLE)
      return
    }
    if (n <= 3) {
      for (const item of tuple.items) this.save(item)
      this.write(n === 1 ? op.TUPLE1 : n === 2 ? op.TUPLE2 : op.TUPLE3)
    } else {
      this.write(op.MARK)
      for (const item of tuple.items) this.save(item)
      this.write(op.TUPLE)
    }
    this.memoize(tuple)
  }

  private saveReduce(reduce: PyReduce): void {
    this.save(reduce.callable)
    this.save(reduce.args)
    this.write(op.REDUCE)
    this.memoize(reduce)
    const items = reduce.dictItems
    for (let start = 0; start < items.length; start += BATCH_SIZE) {
      const batch = items.slice(start, start + BATCH_SIZE)
      if (batch.length === 1) {
        const [key, value] = batch[0]!
        this.save(key)
        this.save(value)
        this.write(op.SETITEM)
      } else {
        this.write(op.MARK)
        for (const [key, value] of batch) {
          this.save(key)
          this.save(value)
        }
        this.write(op.SETITEMS)
      }
    }
  }

  private memoize(key: object | string): void {
    const index = this.memo.size
    this.memo.set(key, index)
    this.writeMemoRef(index, op.BINPUT, op.LONG_BINPUT)
  }

  private writeMemoRef(index: number, shortOp: number, longOp: number): void {
    if (index < 256) this.write(shortOp, index)
    else {
      this.write(longOp)
      this.writeUint32(index)
    }
  }

  private writeUint32(value: number): void {
    this.write(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff)
  }

  private write(...values: number[]): void {
    this.reserve(values.length)
    for (const value of values) this.bytes[this.length++] = value
  }

  private writeBytes(values: Uint8Array): void {
    this.reserve(values.length)
    this.bytes.set(values, this.length)
    this.length += values.length
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra))
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
  }
}

/** Pickles `value` with protocol 2, as CPython's pickler would. */
export const pickleProtocol2 = (value: PyValue): Uint8Array => new Pickler().dump(value)
