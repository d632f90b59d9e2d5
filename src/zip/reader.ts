// Random-access ZIP reader: parses the central directory (ZIP64 included) and the local headers,
// then reads an entry's bytes or a byte range of it on demand, never loading the archive whole.
import { inflateRawSync } from "node:zlib"
import { crc32 } from "./crc32.ts"
import { unsafeEntryNameReason } from "./entry-name.ts"
import { ZipError } from "./errors.ts"
import {
  CENTRAL_HEADER_SIGNATURE,
  CENTRAL_HEADER_SIZE,
  END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  END_OF_CENTRAL_DIRECTORY_SIZE,
  ENTRY_COUNT_SENTINEL,
  FLAG_ENCRYPTED,
  S_IFLNK,
  S_IFMT,
  LOCAL_HEADER_SIGNATURE,
  LOCAL_HEADER_SIZE,
  METHOD_DEFLATE,
  METHOD_STORED,
  ZIP32_SENTINEL,
  ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE,
  ZIP64_EXTRA_ID,
  ZIP64_LOCATOR_SIGNATURE,
  ZIP64_LOCATOR_SIZE,
} from "./format.ts"
import { RandomAccessFile, ShortReadError } from "./random-access-file.ts"

export type ZipMethod = "stored" | "deflate"

export interface ZipEntry {
  readonly name: string
  readonly method: ZipMethod
  /** Absolute file offset of the entry's (possibly compressed) data. */
  readonly dataOffset: number
  readonly compressedSize: number
  /** Uncompressed size. */
  readonly size: number
  readonly crc32: number
}

const utf8 = new TextDecoder("utf-8", { fatal: false })
/** An EOCD may be followed by a comment of at most 65535 bytes. */
const MAX_EOCD_SEARCH = END_OF_CENTRAL_DIRECTORY_SIZE + 0xffff

const u64 = (view: DataView, at: number): number => {
  const value = view.getBigUint64(at, true)
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value)
}

export class ZipReader {
  private constructor(
    readonly path: string,
    private readonly file: RandomAccessFile,
    /** Entries in central-directory order. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  /** Opens and indexes `path`; throws ZipError for anything that is not a well-formed archive. */
  static open(path: string): ZipReader {
    let file: RandomAccessFile
    try {
      file = RandomAccessFile.open(path)
    } catch (error) {
      throw new ZipError("NotFound", path, `cannot open the archive (${(error as Error).message})`)
    }
    try {
      return new ZipReader(path, file, readDirectory(path, file))
    } catch (error) {
      file.close()
      if (error instanceof ShortReadError) throw new ZipError("Truncated", path, error.message)
      throw error
    }
  }

  /** The entry called `name`; a NotFound error names the archive and the entry. */
  entry(name: string): ZipEntry {
    const entry = this.entries.get(name)
    if (entry === undefined) throw new ZipError("NotFound", this.path, "no such entry in the archive", name)
    return entry
  }

  /** The whole uncompressed entry, CRC-checked. */
  read(name: string): Uint8Array {
    const entry = this.entry(name)
    const data = entry.method === "stored" ? this.readStored(entry, 0, entry.size) : this.inflate(entry)
    if (crc32(data) !== entry.crc32) throw new ZipError("Corrupt", this.path, "CRC-32 mismatch: the entry's data is corrupt", name)
    return data
  }

  /** `length` bytes of the uncompressed entry starting at `start` (not CRC-checked). */
  readRange(name: string, start: number, length: number): Uint8Array {
    const target = new Uint8Array(length)
    this.readInto(name, start, target)
    return target
  }

  /**
   * Fills `target` with the entry's bytes from `start`. For stored entries this is one positional
   * read straight into the caller's buffer (any alignment); deflated entries are inflated first.
   */
  readInto(name: string, start: number, target: Uint8Array): void {
    const entry = this.entry(name)
    if (!Number.isSafeInteger(start) || start < 0 || start + target.byteLength > entry.size) {
      throw new ZipError(
        "InvalidInput",
        this.path,
        `range [${start}, ${start + target.byteLength}) is outside the entry's ${entry.size} bytes`,
        name,
      )
    }
    if (entry.method === "stored") {
      this.readRaw(entry, entry.dataOffset + start, target)
    } else {
      target.set(this.inflate(entry).subarray(start, start + target.byteLength))
    }
  }

  get isOpen(): boolean {
    return this.file.isOpen
  }

  close(): void {
    this.file.close()
  }

  private readStored(entry: ZipEntry, start: number, length: number): Uint8Array {
    const target = new Uint8Array(length)
    this.readRaw(entry, entry.dataOffset + start, target)
    return target
  }

  private readRaw(entry: ZipEntry, position: number, target: Uint8Array): void {
    if (!this.file.isOpen) throw new ZipError("InvalidInput", this.path, "the archive was closed", entry.name)
    try {
      this.file.readInto(position, target)
    } catch (error) {
      if (error instanceof ShortReadError) throw new ZipError("Truncated", this.path, error.message, entry.name)
      throw error
    }
  }

  private inflate(entry: ZipEntry): Uint8Array {
    const compressed = new Uint8Array(entry.compressedSize)
    this.readRaw(entry, entry.dataOffset, compressed)
    let data: Uint8Array
    try {
      // Inflation stops as soon as the output would pass the declared size, so a small stream
      // that expands to gigabytes (a zip bomb) costs at most the declared size in memory.
      // (maxOutputLength must be ≥ 1; an empty entry that inflates to 1 byte is caught below.)
      data = inflateRawSync(compressed, { maxOutputLength: Math.max(entry.size, 1) })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        throw new ZipError("Corrupt", this.path, `inflates past its declared ${entry.size} bytes (stopped there): the archive is corrupt or hostile`, entry.name)
      }
      throw new ZipError("Corrupt", this.path, `deflate data is invalid (${(error as Error).message})`, entry.name)
    }
    if (data.byteLength !== entry.size) {
      throw new ZipError("Corrupt", this.path, `inflated to ${data.byteLength} bytes, the directory says ${entry.size}`, entry.name)
    }
    return data
  }
}

interface Directory {
  readonly count: number
  readonly size: number
  readonly offset: number
}

const findDirectory = (path: string, file: RandomAccessFile): Directory => {
  const searchLength = Math.min(file.size, MAX_EOCD_SEARCH)
  if (file.size < END_OF_CENTRAL_DIRECTORY_SIZE) {
    throw new ZipError("Truncated", path, `the file is ${file.size} bytes, too short for a zip archive (at least 22)`)
  }
  const tailStart = file.size - searchLength
  const tail = file.read(tailStart, searchLength)
  const view = new DataView(tail.buffer)
  let eocd = -1
  for (let at = searchLength - END_OF_CENTRAL_DIRECTORY_SIZE; at >= 0; at--) {
    if (view.getUint32(at, true) !== END_OF_CENTRAL_DIRECTORY_SIGNATURE) continue
    // The comment length must reach exactly to the end of the file, or this is a stray match.
    if (at + END_OF_CENTRAL_DIRECTORY_SIZE + view.getUint16(at + 20, true) === searchLength) {
      eocd = at
      break
    }
  }
  if (eocd < 0) {
    throw new ZipError(
      "BadSignature",
      path,
      "no end-of-central-directory record: the file is not a zip archive or it is truncated",
    )
  }
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new ZipError("Unsupported", path, "multi-disk (split) archives are not supported")
  }
  let count = view.getUint16(eocd + 10, true)
  let size = view.getUint32(eocd + 12, true)
  let offset = view.getUint32(eocd + 16, true)

  const locator = eocd - ZIP64_LOCATOR_SIZE
  const hasLocator = locator >= 0 && view.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE
  if (hasLocator) {
    const zip64EndOffset = u64(view, locator + 8)
    if (zip64EndOffset + ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE > tailStart + locator) {
      throw new ZipError("Corrupt", path, `the ZIP64 locator points past itself (offset ${zip64EndOffset})`)
    }
    const record = file.read(zip64EndOffset, ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE)
    const recordView = new DataView(record.buffer)
    if (recordView.getUint32(0, true) !== ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE) {
      throw new ZipError("BadSignature", path, `no ZIP64 end-of-central-directory record at offset ${zip64EndOffset}`)
    }
    count = u64(recordView, 32)
    size = u64(recordView, 40)
    offset = u64(recordView, 48)
  } else if (count === ENTRY_COUNT_SENTINEL || size === ZIP32_SENTINEL || offset === ZIP32_SENTINEL) {
    throw new ZipError("Corrupt", path, "the end record defers to ZIP64 but there is no ZIP64 locator")
  }
  if (offset + size > file.size) {
    throw new ZipError(
      "Truncated",
      path,
      `the central directory (offset ${offset}, ${size} bytes) runs past the end of the ${file.size}-byte file`,
    )
  }
  return { count, size, offset }
}

const readDirectory = (path: string, file: RandomAccessFile): Map<string, ZipEntry> => {
  const directory = findDirectory(path, file)
  const bytes = file.read(directory.offset, directory.size)
  const view = new DataView(bytes.buffer)
  const entries = new Map<string, ZipEntry>()
  let at = 0
  for (let index = 0; index < directory.count; index++) {
    if (at + CENTRAL_HEADER_SIZE > bytes.length) {
      throw new ZipError("Corrupt", path, `the central directory ends after ${index} of ${directory.count} entries`)
    }
    if (view.getUint32(at, true) !== CENTRAL_HEADER_SIGNATURE) {
      throw new ZipError("BadSignature", path, `central directory entry ${index} has a bad signature (offset ${directory.offset + at})`)
    }
    const flags = view.getUint16(at + 8, true)
    const methodCode = view.getUint16(at + 10, true)
    const crc = view.getUint32(at + 16, true)
    let compressedSize = view.getUint32(at + 20, true)
    let size = view.getUint32(at + 24, true)
    const nameLength = view.getUint16(at + 28, true)
    const extraLength = view.getUint16(at + 30, true)
    const commentLength = view.getUint16(at + 32, true)
    const disk = view.getUint16(at + 34, true)
    const externalAttributes = view.getUint32(at + 38, true)
    let localOffset = view.getUint32(at + 42, true)
    const end = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength
    if (end > bytes.length) throw new ZipError("Corrupt", path, `central directory entry ${index} runs past the directory`)
    const name = utf8.decode(bytes.subarray(at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength))

    // ZIP64 extra: only the fields whose 32-bit value is the sentinel are present, in this order.
    let extra = at + CENTRAL_HEADER_SIZE + nameLength
    const extraEnd = extra + extraLength
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true)
      const length = view.getUint16(extra + 2, true)
      if (extra + 4 + length > extraEnd) throw new ZipError("Corrupt", path, "an extra field runs past its header", name)
      if (id === ZIP64_EXTRA_ID) {
        let field = extra + 4
        const take = (): number => {
          if (field + 8 > extra + 4 + length) throw new ZipError("Corrupt", path, "the ZIP64 extra field is too short", name)
          const value = u64(view, field)
          field += 8
          return value
        }
        if (size === ZIP32_SENTINEL) size = take()
        if (compressedSize === ZIP32_SENTINEL) compressedSize = take()
        if (localOffset === ZIP32_SENTINEL) localOffset = take()
      }
      extra += 4 + length
    }
    at = end

    const unsafe = unsafeEntryNameReason(name)
    // Unix hosts keep the file mode in the upper half of the external attributes; a symbolic
    // link's data is its target path, which an extractor would follow out of the folder.
    if (((externalAttributes >>> 16) & S_IFMT) === S_IFLNK) {
      throw new ZipError("UnsafeName", path, "the entry is a symbolic link; refusing to read an archive with such an entry", name)
    }
    if (unsafe !== undefined) throw new ZipError("UnsafeName", path, `${unsafe}; refusing to read an archive with such an entry`, name)
    if (entries.has(name)) throw new ZipError("Corrupt", path, "the archive holds two entries with this name", name)
    if (flags & FLAG_ENCRYPTED) throw new ZipError("Unsupported", path, "the entry is encrypted", name)
    if (disk !== 0) throw new ZipError("Unsupported", path, "the entry is on another disk of a split archive", name)
    if (methodCode !== METHOD_STORED && methodCode !== METHOD_DEFLATE) {
      throw new ZipError("Unsupported", path, `compression method ${methodCode} (only stored and deflate are supported)`, name)
    }
    if (methodCode === METHOD_STORED && compressedSize !== size) {
      throw new ZipError("Corrupt", path, `a stored entry has compressed size ${compressedSize} but size ${size}`, name)
    }
    if (![compressedSize, size, localOffset].every(Number.isFinite)) {
      throw new ZipError("Unsupported", path, "sizes beyond 2^53 bytes", name)
    }

    const dataOffset = localDataOffset(path, file, name, localOffset)
    if (dataOffset + compressedSize > directory.offset) {
      throw new ZipError(
        dataOffset + compressedSize > file.size ? "Truncated" : "Corrupt",
        path,
        `the entry's data [${dataOffset}, ${dataOffset + compressedSize}) runs past ` +
          (dataOffset + compressedSize > file.size ? `the end of the ${file.size}-byte file` : "the start of the central directory"),
        name,
      )
    }
    entries.set(name, {
      name,
      method: methodCode === METHOD_STORED ? "stored" : "deflate",
      dataOffset,
      compressedSize,
      size,
      crc32: crc,
    })
  }
  return entries
}

/** Where the data starts: after the local header, whose name/extra lengths may differ from the directory's. */
const localDataOffset = (path: string, file: RandomAccessFile, name: string, localOffset: number): number => {
  if (localOffset + LOCAL_HEADER_SIZE > file.size) {
    throw new ZipError("Truncated", path, `the local header at offset ${localOffset} is past the end of the file`, name)
  }
  const header = new DataView(file.read(localOffset, LOCAL_HEADER_SIZE).buffer)
  if (header.getUint32(0, true) !== LOCAL_HEADER_SIGNATURE) {
    throw new ZipError("BadSignature", path, `no local file header at offset ${localOffset}`, name)
  }
  return localOffset + LOCAL_HEADER_SIZE + header.getUint16(26, true) + header.getUint16(28, true)
}
