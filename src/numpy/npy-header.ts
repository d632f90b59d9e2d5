// The .npy header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False,
// 'shape': (1, 512), }. Written in numpy's own spelling; read with a small literal parser (never
// evaluated) that accepts exactly the three keys numpy writes.

import { NpyError, type NpySource } from "./npy-error.ts"

export interface NpyHeader {
  readonly descr: string
  readonly fortranOrder: boolean
  readonly shape: readonly number[]
}

/** numpy's spelling of a shape: `()`, `(5,)`, `(1, 512)`. */
const pythonTuple = (shape: readonly number[]): string =>
  shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`

export const formatHeader = (header: NpyHeader): string =>
  `{'descr': '${header.descr}', 'fortran_order': ${header.fortranOrder ? "True" : "False"}, 'shape': ${pythonTuple(header.shape)}, }`

type PyValue = string | number | boolean | null | PyTuple | PyValue[] | Map<PyValue, PyValue>

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** Parses the dict text and checks it names a shape and dtype (not yet whether kiln supports it). */
export const parseHeader = (text: string, source: NpySource): NpyHeader => {
  const fail = (detail: string): never => {
    throw new NpyError("bad-header", source, `malformed .npy header ${JSON.stringify(text.slice(0, 200))}: ${detail}`)
  }
  const value = parsePythonLiteral(text, fail)
  if (!(value instanceof Map)) return fail("expected a dict")
  const keys = [...value.keys()]
  const expected = ["descr", "fortran_order", "shape"]
  if (keys.length !== 3 || !expected.every((k) => value.has(k))) {
    return fail(`expected exactly the keys ${expected.join(", ")}, found ${keys.map((k) => String(k)).join(", ")}`)
  }
  const descr = value.get("descr")
  const fortranOrder = value.get("fortran_order")
  const shape = value.get("shape")
  if (typeof descr !== "string") {
    throw new NpyError("unsupported-dtype", source, `unsupported dtype: 'descr' is a structured or non-string dtype; expected one of <f4 <f8 <i4 <i8 <f2 |u1 |i1 |b1`)
  }
  if (typeof fortranOrder !== "boolean") return fail("'fortran_order' must be True or False")
  if (!(shape instanceof PyTuple)) return fail("'shape' must be a tuple")
  const dims: number[] = []
  for (const d of shape.items) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new NpyError("bad-shape", source, `'shape' ${formatShapeForError(shape)} must hold non-negative integers`)
    }
    dims.push(d)
  }
  return { descr, fortranOrder, shape: dims }
}

const formatShapeForError = (t: PyTuple): string => `(${t.items.map((v) => String(v)).join(", ")})`

/** Recursive-descent parser for the literals numpy headers use: dict, tuple, list, str, int, bool, None. */
const parsePythonLiteral = (text: string, fail: (detail: string) => never): PyValue => {
  let pos = 0
  const skipSpace = () => {
    while (pos < text.length && " \t\r\n".includes(text[pos]!)) pos++
  }
  const peek = (): string => {
    skipSpace()
    return text[pos] ?? ""
  }
  const expect = (ch: string) => {
    if (peek() !== ch) fail(`expected '${ch}' at offset ${pos}`)
    pos++
  }
  // Items separated by commas with an optional trailing comma, as Python allows.
  const sequence = <T>(close: string, item: () => T): { items: T[]; trailingComma: boolean } => {
    const items: T[] = []
    let trailingComma = false
    while (peek() !== close) {
      items.push(item())
      trailingComma = false
      if (peek() === ",") {
        pos++
        trailingComma = true
      } else if (peek() !== close) {
        fail(`expected ',' or '${close}' at offset ${pos}`)
      }
    }
    pos++
    return { items, trailingComma }
  }
  const value = (depth: number): PyValue => {
    if (depth > 16) fail("nested too deeply")
    const ch = peek()
    if (ch === "{") {
      pos++
      const map = new Map<PyValue, PyValue>()
      sequence("}", () => {
        const key = value(depth + 1)
        if (typeof key !== "string") fail("dict keys must be strings")
        if (map.has(key)) fail(`duplicate key '${key}'`)
        expect(":")
        map.set(key, value(depth + 1))
      })
      return map
    }
    if (ch === "(") {
      pos++
      const { items, trailingComma } = sequence(")", () => value(depth + 1))
      // `(5)` is just 5 in Python; a one-element tuple needs its comma.
      if (items.length === 1 && !trailingComma) return items[0]!
      return new PyTuple(items)
    }
    if (ch === "[") {
      pos++
      return sequence("]", () => value(depth + 1)).items
    }
    if (ch === "'" || ch === '"') return stringLiteral(ch)
    const word = /^[A-Za-z_][A-Za-z0-9_]*|^-?[0-9]+[lL]?/.exec(text.slice(pos))
    if (word === null) return fail(`unexpected ${ch === "" ? "end of header" : `'${ch}'`} at offset ${pos}`)
    pos += word[0].length
    switch (word[0]) {
      case "True":
        return true
      case "False":
        return false
      case "None":
        return null
    }
    // Python 2 wrote long integers with an L suffix: (1L, 512L).
    const digits = word[0].replace(/[lL]$/, "")
    if (!/^-?[0-9]+$/.test(digits)) return fail(`unexpected name '${word[0]}' at offset ${pos - word[0].length}`)
    return Number(digits)
  }
  const stringLiteral = (quote: string): string => {
    pos++
    let out = ""
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === "\\") pos++
      out += text[pos] ?? ""
      pos++
    }
    if (pos >= text.length) fail("unterminated string")
    pos++
    return out
  }
  const result = value(0)
  if (peek() !== "") fail(`unexpected text after the dict at offset ${pos}`)
  return result
}
