// Bounded gunzip: a .gz file declares its uncompressed size (mod 2^32) in its last four bytes;
// inflation stops once the output would pass it, so a small file that expands to gigabytes
// costs at most the declared size. (Files over 4 GiB, or of several gzip members, are refused.)
import { gunzipSync } from "node:zlib"
import { ZipError } from "./errors.ts"

/** The uncompressed bytes of the gzip data read from `path`; throws ZipError("Corrupt") naming it. */
export const gunzipDeclared = (data: Uint8Array, path: string): Uint8Array => {
  if (data.byteLength < 18) throw new ZipError("Truncated", path, `${data.byteLength} bytes is too short for gzip data (at least 18)`)
  const declared = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(data.byteLength - 4, true)
  let out: Uint8Array
  try {
    out = gunzipSync(data, { maxOutputLength: Math.max(declared, 1) })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new ZipError("Corrupt", path, `inflates past its declared ${declared} bytes (stopped there): the file is corrupt or hostile`)
    }
    throw new ZipError("Corrupt", path, `not valid gzip data (${(error as Error).message})`)
  }
  if (out.byteLength !== declared) {
    throw new ZipError("Corrupt", path, `inflated to ${out.byteLength} bytes, the gzip trailer says ${declared}`)
  }
  return out
}
