// .npz archives as numpy.savez writes them: a zip of stored `<key>.npy` entries. Reading also
// accepts numpy.savez_compressed (deflate); the zip module does the archive work and its errors
// are turned into NpyErrors here, naming the file and key.

import { writeZip, ZipError, ZipReader } from "../zip/index.ts"
import type { NpyArray } from "./dtype.ts"
import { NpyError } from "./npy-error.ts"
import { decodeNpy, encodeNpy, validateNpyArray } from "./npy.ts"

const entrySuffix = ".npy"

const toNpyError = (error: unknown, file: string, key?: string): unknown => {
  if (!(error instanceof ZipError)) return error
  const entryKey = key ?? (error.entry?.endsWith(entrySuffix) ? error.entry.slice(0, -entrySuffix.length) : error.entry)
  // ZipError's message already names the archive; keep only what it adds.
  const detail = error.message.replace(/^.*?: /, "")
  return new NpyError("bad-archive", entryKey === undefined ? { file } : { file, key: entryKey }, `not a readable .npz archive: ${detail}`, { cause: error })
}

/**
 * Writes `arrays` (in the given order) to `path` as a stored .npz that numpy.load reads. The
 * archive appears atomically: it is written beside `path` and renamed when complete.
 */
export const writeNpz = (path: string, arrays: Readonly<Record<string, NpyArray>> | Iterable<readonly [string, NpyArray]>): void => {
  const pairs: (readonly [string, NpyArray])[] = Symbol.iterator in arrays ? [...(arrays as Iterable<readonly [string, NpyArray]>)] : Object.entries(arrays)
  for (const [key, array] of pairs) {
    // Check every array before the file is created, so a bad one leaves nothing behind.
    if (key.length === 0) throw new NpyError("bad-array", { file: path, key }, "the key is empty")
    validateNpyArray(array, { file: path, key })
  }
  try {
    writeZip(
      path,
      pairs.map(([key, array]) => ({ name: key + entrySuffix, data: () => encodeNpy(array, { file: path, key }) })),
    )
  } catch (error) {
    throw toNpyError(error, path)
  }
}

/** Random access to the arrays of one .npz file; close it when done. */
export class NpzReader {
  private constructor(
    readonly path: string,
    private readonly zip: ZipReader,
    /** Array keys in archive order. */
    readonly keys: readonly string[],
  ) {}

  static open(path: string): NpzReader {
    let zip: ZipReader
    try {
      zip = ZipReader.open(path)
    } catch (error) {
      throw toNpyError(error, path)
    }
    const keys: string[] = []
    for (const name of zip.entries.keys()) {
      if (!name.endsWith(entrySuffix)) {
        zip.close()
        throw new NpyError("bad-archive", { file: path, key: name }, `entry '${name}' is not a .npy array; an .npz holds only <key>.npy entries`)
      }
      keys.push(name.slice(0, -entrySuffix.length))
    }
    return new NpzReader(path, zip, keys)
  }

  has(key: string): boolean {
    return this.zip.entries.has(key + entrySuffix)
  }

  /** The array stored under `key`, read and checked now. */
  get(key: string): NpyArray {
    if (!this.has(key)) {
      throw new NpyError("missing-key", { file: this.path, key }, `no array with this key; the file has ${this.keys.length === 0 ? "none" : this.keys.map((k) => `'${k}'`).join(", ")}`)
    }
    let bytes: Uint8Array
    try {
      bytes = this.zip.read(key + entrySuffix)
    } catch (error) {
      throw toNpyError(error, this.path, key)
    }
    return decodeNpy(bytes, { file: this.path, key })
  }

  close(): void {
    this.zip.close()
  }
}

/** Reads every array of an .npz file, in archive order. */
export const readNpz = (path: string): Map<string, NpyArray> => {
  const reader = NpzReader.open(path)
  try {
    return new Map(reader.keys.map((key) => [key, reader.get(key)]))
  } finally {
    reader.close()
  }
}
