// Encodes and decodes single .npy arrays (format 1.0 written; 1.0, 2.0 and 3.0 read), C order,
// little-endian, for the dtypes in dtype.ts.

import { dtypeForDescr, dtypeSpecs, hostIsLittleEndian, type NpyArray, type NpyDType } from "./dtype.ts"
import { NpyError, type NpySource } from "./npy-error.ts"
import { formatHeader, parseHeader } from "./npy-header.ts"

const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // "\x93NUMPY"
// numpy pads the header so the data starts 64-byte aligned, letting readers map it directly.
const headerAlignment = 64
const memory: NpySource = { file: "<memory>" }

const assertLittleEndianHost = (source: NpySource) => {
  if (!hostIsLittleEndian) throw new NpyError("big-endian", source, "this host is big-endian; kiln's .npy code assumes a little-endian host")
}

/** Checks dtype, shape and data agree (as encodeNpy will); returns the element count. */
export const validateNpyArray = (array: NpyArray, source: NpySource = memory): number => {
  const spec = dtypeSpecs[array.dtype as NpyDType] as (typeof dtypeSpecs)[NpyDType] | undefined
  if (spec === undefined) throw new NpyError("bad-array", source, `unsupported dtype '${String(array.dtype)}'`)
  let count = 1
  for (const d of array.shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new NpyError("bad-array", source, `shape [${array.shape.join(", ")}] must hold non-negative integers`)
    }
    count *= d
  }
  if (!spec.isData(array.data)) {
    throw new NpyError("bad-array", source, `dtype ${array.dtype} needs its data in a ${spec.arrayName}, got ${describeValue(array.data)}`)
  }
  if (array.data.length !== count) {
    throw new NpyError("bad-array", source, `shape [${array.shape.join(", ")}] holds ${count} elements but the data has ${array.data.length}`)
  }
  // numpy's bool is one byte that must be 0 or 1; anything else loads as a corrupt True.
  if (array.dtype === "bool") {
    const at = array.data.findIndex((v) => v > 1)
    if (at >= 0) throw new NpyError("bad-array", source, `bool data must hold only 0 and 1, found ${array.data[at]} at index ${at}`)
  }
  return count
}

const describeValue = (v: unknown): string =>
  v === null || v === undefined ? String(v) : typeof v === "object" ? v.constructor.name : typeof v

/** The complete .npy file for an array. */
export const encodeNpy = (array: NpyArray, source: NpySource = memory): Uint8Array => {
  assertLittleEndianHost(source)
  validateNpyArray(array, source)
  const spec = dtypeSpecs[array.dtype]
  const dict = formatHeader({ descr: spec.descr, fortranOrder: false, shape: array.shape })
  // Version 1.0 stores the header length in 16 bits; only absurd shapes need 2.0's 32 bits.
  let version = 1
  let prefixLength = magic.length + 2 + 2
  if (prefixLength + dict.length + 1 > 0xffff) {
    version = 2
    prefixLength = magic.length + 2 + 4
  }
  const unpadded = prefixLength + dict.length + 1
  const padding = (headerAlignment - (unpadded % headerAlignment)) % headerAlignment
  const headerText = dict + " ".repeat(padding) + "\n"
  const dataBytes = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength)
  const out = new Uint8Array(prefixLength + headerText.length + dataBytes.length)
  out.set(magic, 0)
  out[6] = version
  out[7] = 0
  const view = new DataView(out.buffer)
  if (version === 1) view.setUint16(8, headerText.length, true)
  else view.setUint32(8, headerText.length, true)
  for (let i = 0; i < headerText.length; i++) out[prefixLength + i] = headerText.charCodeAt(i)
  out.set(dataBytes, prefixLength + headerText.length)
  return out
}

/** Reads a whole .npy file. The returned data is a fresh copy, never a view of `bytes`. */
export const decodeNpy = (bytes: Uint8Array, source: NpySource = memory): NpyArray => {
  assertLittleEndianHost(source)
  if (bytes.length < magic.length + 2 || magic.some((b, i) => bytes[i] !== b)) {
    throw new NpyError("bad-magic", source, "not a .npy file (it does not start with \\x93NUMPY)")
  }
  const major = bytes[6]!
  const minor = bytes[7]!
  if (!(major === 1 || major === 2 || major === 3) || minor !== 0) {
    throw new NpyError("unsupported-version", source, `unsupported .npy format version ${major}.${minor}; expected 1.0, 2.0 or 3.0`)
  }
  const lengthBytes = major === 1 ? 2 : 4
  const prefixLength = magic.length + 2 + lengthBytes
  if (bytes.length < prefixLength) {
    throw new NpyError("truncated", source, `truncated .npy file: ${bytes.length} bytes, the header length field ends at byte ${prefixLength}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const dataStart = prefixLength + headerLength
  if (bytes.length < dataStart) {
    throw new NpyError("truncated", source, `truncated .npy file: the header needs ${dataStart} bytes, the file has ${bytes.length}`)
  }
  const headerBytes = bytes.subarray(prefixLength, dataStart)
  // 1.0 and 2.0 headers are latin-1, 3.0 headers UTF-8.
  const headerText = major === 3 ? new TextDecoder("utf-8").decode(headerBytes) : latin1(headerBytes)
  const header = parseHeader(headerText, source)
  if (header.fortranOrder) {
    throw new NpyError("fortran-order", source, "array is stored in Fortran order (fortran_order: True); kiln reads C-order arrays only — save it with numpy.ascontiguousarray")
  }
  const dtype = dtypeForDescr(header.descr)
  if (dtype === undefined) {
    if (header.descr.startsWith(">")) {
      throw new NpyError("big-endian", source, `big-endian dtype '${header.descr}' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))`)
    }
    throw new NpyError("unsupported-dtype", source, `unsupported dtype '${header.descr}'; expected one of <f4 <f8 <i4 <i8 <f2 |u1 |i1 |b1`)
  }
  const spec = dtypeSpecs[dtype]
  let count = 1
  for (const d of header.shape) count *= d
  const byteLength = count * spec.itemSize
  if (!Number.isSafeInteger(byteLength)) {
    throw new NpyError("bad-shape", source, `shape (${header.shape.join(", ")}) is too large`)
  }
  const available = bytes.length - dataStart
  if (available < byteLength) {
    throw new NpyError("truncated", source, `truncated data: shape (${header.shape.join(", ")}) of ${header.descr} needs ${byteLength} bytes, only ${available} present`)
  }
  if (available > byteLength) {
    throw new NpyError("trailing-bytes", source, `${available - byteLength} unexpected bytes after the data of shape (${header.shape.join(", ")}) ${header.descr}`)
  }
  const buffer = new ArrayBuffer(byteLength)
  new Uint8Array(buffer).set(bytes.subarray(dataStart))
  return { dtype, shape: header.shape, data: spec.view(buffer, 0, count) } as NpyArray
}

const latin1 = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += String.fromCharCode(b)
  return s
}
