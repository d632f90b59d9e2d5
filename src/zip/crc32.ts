// CRC-32 as ZIP stores it, computed incrementally so an entry is hashed while it is written.
import { crc32 as zlibCrc32 } from "node:zlib"

/** Continues `previous` (0 for a fresh checksum) over `bytes`. */
export const crc32 = (bytes: Uint8Array, previous = 0): number => zlibCrc32(bytes, previous) >>> 0
