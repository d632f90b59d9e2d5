// Streaming ZIP writer: stored entries with CRC-32, ZIP64 fields when sizes or offsets need them,
// optional data alignment (PyTorch's 64 bytes) and fixed timestamps so equal input gives equal bytes.
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { crc32 } from "./crc32.ts"
import { unsafeEntryNameReason } from "./entry-name.ts"
import { ZipError } from "./errors.ts"
import {
  CENTRAL_HEADER_SIGNATURE,
  CENTRAL_HEADER_SIZE,
  END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  END_OF_CENTRAL_DIRECTORY_SIZE,
  ENTRY_COUNT_SENTINEL,
  FIXED_DOS_DATE,
  FIXED_DOS_TIME,
  FLAG_UTF8,
  LOCAL_HEADER_SIGNATURE,
  LOCAL_HEADER_SIZE,
  METHOD_STORED,
  PADDING_EXTRA_ID,
  ZIP32_SENTINEL,
  ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE,
  ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE,
  ZIP64_EXTRA_ID,
  ZIP64_LOCATOR_SIGNATURE,
  ZIP64_LOCATOR_SIZE,
} from "./format.ts"

export interface ZipEntrySource {
  readonly name: string
  /** The entry's bytes, or a function producing them when the entry is written (one at a time). */
  readonly data: Uint8Array | (() => Uint8Array)
}

export interface ZipWriterOptions {
  /** Start every entry's data at a multiple of this many bytes (PyTorch uses 64). */
  readonly align?: number
  /**
   * Sizes and offsets at or above this value are written as ZIP64 fields. Defaults to the
   * format's own limit (0xFFFFFFFF); tests lower it to exercise the ZIP64 path with small files.
   */
  readonly zip64Threshold?: number
}

interface WrittenEntry {
  readonly nameBytes: Uint8Array
  readonly flags: number
  readonly crc: number
  readonly size: number
  readonly localHeaderOffset: number
}

const VERSION_DEFAULT = 20
const VERSION_ZIP64 = 45

/** Which fields of an entry overflow 32 bits (or the test threshold). */
export const zip64Fields = (size: number, localHeaderOffset: number, threshold = ZIP32_SENTINEL) => ({
  size: size >= threshold,
  offset: localHeaderOffset >= threshold,
})

/** Whether the archive needs the ZIP64 end records. */
export const needsZip64End = (
  entryCount: number,
  centralDirectorySize: number,
  centralDirectoryOffset: number,
  threshold = ZIP32_SENTINEL,
): boolean =>
  entryCount >= Math.min(ENTRY_COUNT_SENTINEL, threshold) ||
  centralDirectorySize >= threshold ||
  centralDirectoryOffset >= threshold

const utf8 = new TextEncoder()

export class ZipWriter {
  private position = 0
  private readonly written: WrittenEntry[] = []
  private readonly names = new Set<string>()
  private fd: number | undefined
  private readonly align: number
  private readonly threshold: number

  private constructor(
    /** Where the archive appears once `finish` succeeds. */
    readonly path: string,
    private readonly tempPath: string,
    fd: number,
    options: ZipWriterOptions,
  ) {
    this.fd = fd
    this.align = options.align ?? 0
    this.threshold = options.zip64Threshold ?? ZIP32_SENTINEL
  }

  /** Starts an archive; it is written to a temporary file beside `path` and renamed by `finish`. */
  static create(path: string, options: ZipWriterOptions = {}): ZipWriter {
    const align = options.align ?? 0
    if (!Number.isInteger(align) || align < 0 || align > 0x8000) {
      throw new ZipError("InvalidInput", path, `alignment must be an integer in 0..32768, got ${align}`)
    }
    const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`)
    return new ZipWriter(path, tempPath, openSync(tempPath, "w"), options)
  }

  /** Appends a stored entry. */
  add(name: string, data: Uint8Array): void {
    this.addChunks(name, data.byteLength, [data])
  }

  /**
   * Appends a stored entry of `size` bytes given as consecutive chunks, so an entry can be
   * produced piecewise (e.g. converted a block at a time) without being held whole.
   */
  addChunks(name: string, size: number, chunks: Iterable<Uint8Array>): void {
    const fd = this.openFd()
    const unsafe = unsafeEntryNameReason(name)
    if (unsafe !== undefined) throw new ZipError("UnsafeName", this.path, unsafe, name)
    if (this.names.has(name)) throw new ZipError("InvalidInput", this.path, "an entry with this name was already added", name)
    this.names.add(name)

    const nameBytes = utf8.encode(name)
    if (nameBytes.length > 0xffff) throw new ZipError("InvalidInput", this.path, "the name is longer than 65535 bytes", name)
    const flags = /^[\x20-\x7e]*$/.test(name) ? 0 : FLAG_UTF8
    const localHeaderOffset = this.position
    const zip64 = zip64Fields(size, localHeaderOffset, this.threshold)

    // The local header's ZIP64 field must carry both sizes when either is in it.
    const zip64ExtraLength = zip64.size ? 4 + 16 : 0
    const unpaddedDataStart = localHeaderOffset + LOCAL_HEADER_SIZE + nameBytes.length + zip64ExtraLength
    let paddingExtraLength = 0
    if (this.align > 0) {
      const misalignment = (unpaddedDataStart + 4) % this.align
      paddingExtraLength = 4 + (misalignment === 0 ? 0 : this.align - misalignment)
    }

    const header = new Uint8Array(LOCAL_HEADER_SIZE + nameBytes.length + zip64ExtraLength + paddingExtraLength)
    const view = new DataView(header.buffer)
    view.setUint32(0, LOCAL_HEADER_SIGNATURE, true)
    view.setUint16(4, zip64.size ? VERSION_ZIP64 : VERSION_DEFAULT, true)
    view.setUint16(6, flags, true)
    view.setUint16(8, METHOD_STORED, true)
    view.setUint16(10, FIXED_DOS_TIME, true)
    view.setUint16(12, FIXED_DOS_DATE, true)
    // CRC-32 (offset 14) is patched in once the chunks have been hashed.
    view.setUint32(18, zip64.size ? ZIP32_SENTINEL : size, true)
    view.setUint32(22, zip64.size ? ZIP32_SENTINEL : size, true)
    view.setUint16(26, nameBytes.length, true)
    view.setUint16(28, zip64ExtraLength + paddingExtraLength, true)
    header.set(nameBytes, LOCAL_HEADER_SIZE)
    let at = LOCAL_HEADER_SIZE + nameBytes.length
    if (zip64.size) {
      view.setUint16(at, ZIP64_EXTRA_ID, true)
      view.setUint16(at + 2, 16, true)
      view.setBigUint64(at + 4, BigInt(size), true)
      view.setBigUint64(at + 12, BigInt(size), true)
      at += 20
    }
    if (paddingExtraLength > 0) {
      view.setUint16(at, PADDING_EXTRA_ID, true)
      view.setUint16(at + 2, paddingExtraLength - 4, true)
      header.fill(0x5a, at + 4, at + paddingExtraLength) // 'Z', as PyTorch pads
    }

    this.writeAll(fd, header)
    let crc = 0
    let written = 0
    for (const chunk of chunks) {
      written += chunk.byteLength
      if (written > size) break
      crc = crc32(chunk, crc)
      this.writeAll(fd, chunk)
    }
    if (written !== size) {
      throw new ZipError("InvalidInput", this.path, `the entry was declared as ${size} bytes but its chunks hold ${written > size ? "more" : written}`, name)
    }
    const crcBytes = new Uint8Array(4)
    new DataView(crcBytes.buffer).setUint32(0, crc, true)
    writeSync(fd, crcBytes, 0, 4, localHeaderOffset + 14)
    this.written.push({ nameBytes, flags, crc, size, localHeaderOffset })
  }

  /** Writes the central directory and end records, then moves the archive to `path`. */
  finish(): void {
    const fd = this.openFd()
    const centralDirectoryOffset = this.position
    for (const entry of this.written) this.writeAll(fd, this.centralHeader(entry))
    const centralDirectorySize = this.position - centralDirectoryOffset
    const count = this.written.length
    const zip64End = needsZip64End(count, centralDirectorySize, centralDirectoryOffset, this.threshold)
    const countLimit = Math.min(ENTRY_COUNT_SENTINEL, this.threshold)

    if (zip64End) {
      const zip64EndOffset = this.position
      const record = new Uint8Array(ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE + ZIP64_LOCATOR_SIZE)
      const view = new DataView(record.buffer)
      view.setUint32(0, ZIP64_END_OF_CENTRAL_DIRECTORY_SIGNATURE, true)
      view.setBigUint64(4, BigInt(ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE - 12), true)
      view.setUint16(12, VERSION_ZIP64, true)
      view.setUint16(14, VERSION_ZIP64, true)
      view.setUint32(16, 0, true) // this disk
      view.setUint32(20, 0, true) // disk with the central directory
      view.setBigUint64(24, BigInt(count), true)
      view.setBigUint64(32, BigInt(count), true)
      view.setBigUint64(40, BigInt(centralDirectorySize), true)
      view.setBigUint64(48, BigInt(centralDirectoryOffset), true)
      const locator = ZIP64_END_OF_CENTRAL_DIRECTORY_SIZE
      view.setUint32(locator, ZIP64_LOCATOR_SIGNATURE, true)
      view.setUint32(locator + 4, 0, true)
      view.setBigUint64(locator + 8, BigInt(zip64EndOffset), true)
      view.setUint32(locator + 16, 1, true) // total disks
      this.writeAll(fd, record)
    }

    const end = new Uint8Array(END_OF_CENTRAL_DIRECTORY_SIZE)
    const view = new DataView(end.buffer)
    view.setUint32(0, END_OF_CENTRAL_DIRECTORY_SIGNATURE, true)
    const count16 = count >= countLimit ? ENTRY_COUNT_SENTINEL : count
    view.setUint16(8, count16, true)
    view.setUint16(10, count16, true)
    view.setUint32(12, centralDirectorySize >= this.threshold ? ZIP32_SENTINEL : centralDirectorySize, true)
    view.setUint32(16, centralDirectoryOffset >= this.threshold ? ZIP32_SENTINEL : centralDirectoryOffset, true)
    this.writeAll(fd, end)

    closeSync(fd)
    this.fd = undefined
    renameSync(this.tempPath, this.path)
  }

  /** Discards the partial archive; safe to call after a failure or twice. */
  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
    rmSync(this.tempPath, { force: true })
  }

  private centralHeader(entry: WrittenEntry): Uint8Array {
    const zip64 = zip64Fields(entry.size, entry.localHeaderOffset, this.threshold)
    const zip64Values: number[] = []
    if (zip64.size) zip64Values.push(entry.size, entry.size) // uncompressed, then compressed
    if (zip64.offset) zip64Values.push(entry.localHeaderOffset)
    const extraLength = zip64Values.length > 0 ? 4 + 8 * zip64Values.length : 0
    const version = zip64Values.length > 0 ? VERSION_ZIP64 : VERSION_DEFAULT

    const header = new Uint8Array(CENTRAL_HEADER_SIZE + entry.nameBytes.length + extraLength)
    const view = new DataView(header.buffer)
    view.setUint32(0, CENTRAL_HEADER_SIGNATURE, true)
    view.setUint16(4, version, true) // made by: MS-DOS host, so no Unix permissions are implied
    view.setUint16(6, version, true)
    view.setUint16(8, entry.flags, true)
    view.setUint16(10, METHOD_STORED, true)
    view.setUint16(12, FIXED_DOS_TIME, true)
    view.setUint16(14, FIXED_DOS_DATE, true)
    view.setUint32(16, entry.crc, true)
    view.setUint32(20, zip64.size ? ZIP32_SENTINEL : entry.size, true)
    view.setUint32(24, zip64.size ? ZIP32_SENTINEL : entry.size, true)
    view.setUint16(28, entry.nameBytes.length, true)
    view.setUint16(30, extraLength, true)
    // comment length, disk number, internal and external attributes stay 0
    view.setUint32(42, zip64.offset ? ZIP32_SENTINEL : entry.localHeaderOffset, true)
    header.set(entry.nameBytes, CENTRAL_HEADER_SIZE)
    if (extraLength > 0) {
      let at = CENTRAL_HEADER_SIZE + entry.nameBytes.length
      view.setUint16(at, ZIP64_EXTRA_ID, true)
      view.setUint16(at + 2, 8 * zip64Values.length, true)
      at += 4
      for (const value of zip64Values) {
        view.setBigUint64(at, BigInt(value), true)
        at += 8
      }
    }
    return header
  }

  private openFd(): number {
    if (this.fd === undefined) throw new ZipError("InvalidInput", this.path, "the archive was already finished or aborted")
    return this.fd
  }

  private writeAll(fd: number, bytes: Uint8Array): void {
    let done = 0
    while (done < bytes.byteLength) {
      done += writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30))
    }
    this.position += bytes.byteLength
  }
}

/**
 * Writes `entries` in order as a stored archive at `path` (via a temporary file and rename).
 * Function-valued data is called when its entry is reached, so only one entry is in memory.
 */
export const writeZip = (path: string, entries: Iterable<ZipEntrySource>, options: ZipWriterOptions = {}): void => {
  const writer = ZipWriter.create(path, options)
  try {
    for (const entry of entries) writer.add(entry.name, typeof entry.data === "function" ? entry.data() : entry.data)
    writer.finish()
  } catch (error) {
    writer.abort()
    throw error
  }
}
