// Public surface of the zip module: a streaming stored-entry writer, a random-access reader and a bounded gunzip.
export { crc32 } from "./crc32.ts"
export { unsafeEntryNameReason } from "./entry-name.ts"
export { ZipError, type ZipErrorReason } from "./errors.ts"
export { gunzipDeclared } from "./gunzip.ts"
export { RandomAccessFile, ShortReadError } from "./random-access-file.ts"
export { needsZip64End, writeZip, type ZipEntrySource, ZipWriter, type ZipWriterOptions, zip64Fields } from "./writer.ts"
export { type ZipEntry, type ZipMethod, ZipReader } from "./reader.ts"
