// The one error type of the numpy module: every problem reading or writing .npy/.npz data, with
// the file (and npz key) it concerns so a user can find the broken sample.

export type NpyErrorReason =
  | "bad-magic"
  | "unsupported-version"
  | "bad-header"
  | "unsupported-dtype"
  | "big-endian"
  | "fortran-order"
  | "bad-shape"
  | "truncated"
  | "trailing-bytes"
  | "bad-array"
  | "bad-archive"
  | "missing-key"

/** Where the bytes came from: a path (or a label such as "<memory>") and, inside an npz, the key. */
export interface NpySource {
  readonly file: string
  readonly key?: string
}

export class NpyError extends Error {
  override readonly name = "NpyError"
  readonly reason: NpyErrorReason
  readonly file: string
  readonly key: string | undefined

  constructor(reason: NpyErrorReason, source: NpySource, detail: string, options?: { cause?: unknown }) {
    super(`${describeSource(source)}: ${detail}`, options)
    this.reason = reason
    this.file = source.file
    this.key = source.key
  }
}

export const describeSource = (source: NpySource): string =>
  source.key === undefined ? source.file : `${source.file} (key '${source.key}')`
