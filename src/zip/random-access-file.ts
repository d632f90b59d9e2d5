// Positional reads from a file that is never loaded whole: the zip reader and the checkpoint
// readers read one record or one tensor's byte range at a time, so memory stays flat.
import { closeSync, fstatSync, openSync, readSync } from "node:fs"

/** Raised when a read runs past the end of the file; callers turn it into their own error. */
export class ShortReadError extends Error {
  override readonly name = "ShortReadError"
  constructor(
    readonly path: string,
    readonly position: number,
    readonly wanted: number,
    readonly got: number,
  ) {
    super(`${path}: wanted ${wanted} bytes at offset ${position} but the file ends after ${got}`)
  }
}

export class RandomAccessFile {
  private fd: number | undefined

  private constructor(
    readonly path: string,
    fd: number,
    readonly size: number,
  ) {
    this.fd = fd
  }

  /** Opens `path` read-only; throws the fs error (ENOENT …) unchanged for the caller to wrap. */
  static open(path: string): RandomAccessFile {
    const fd = openSync(path, "r")
    try {
      return new RandomAccessFile(path, fd, fstatSync(fd).size)
    } catch (error) {
      closeSync(fd)
      throw error
    }
  }

  get isOpen(): boolean {
    return this.fd !== undefined
  }

  /** Reads exactly `length` bytes at `position` into a fresh buffer. */
  read(position: number, length: number): Uint8Array {
    const target = new Uint8Array(length)
    this.readInto(position, target)
    return target
  }

  /** Fills `target` from `position`; the target may be a view of a typed array of any alignment. */
  readInto(position: number, target: Uint8Array): void {
    const fd = this.fd
    if (fd === undefined) throw new Error(`${this.path}: read after close`)
    let done = 0
    while (done < target.byteLength) {
      // readSync takes at most 2 GiB at once; loop for larger ranges.
      const chunk = Math.min(target.byteLength - done, 1 << 30)
      const n = readSync(fd, target, done, chunk, position + done)
      if (n === 0) throw new ShortReadError(this.path, position, target.byteLength, done)
      done += n
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}
