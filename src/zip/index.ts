// Public surface of the zip module: a streaming stored-entry writer and a random-access reader.
export { crc32 } from "./crc32.ts"
export { unsafeEntryNameReason } from "./entry-name.ts"
export { ZipError, type ZipErrorReason } from "./errors.ts"
export { RandomAccessFile, ShortReadError } from "./random-access-file.ts"
export { needsZip64End, writeZip, type ZipEntrySource, ZipWriter, type ZipWriterOptions, zip64Fields } from "./writer.ts"
export { type ZipEntry, type ZipMethod, ZipReader } from "./reader.ts"
