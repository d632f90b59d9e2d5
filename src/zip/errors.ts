// The one error type of the zip module: every failure names the archive (and the entry when
// there is one) and says what was expected, so a bad checkpoint or npz is diagnosable.

export type ZipErrorReason =
  | "NotFound" // archive or entry missing
  | "Truncated" // the file ends before a record or an entry's data
  | "BadSignature" // a record does not start with its magic number
  | "UnsafeName" // absolute path, `..` segment or symbolic link
  | "Unsupported" // encryption, multi-disk, compression method other than stored/deflate
  | "Corrupt" // inconsistent sizes, CRC mismatch, duplicate names
  | "InvalidInput" // a writer was given something it cannot write

export class ZipError extends Error {
  override readonly name = "ZipError"
  readonly _tag = "ZipError"
  constructor(
    readonly reason: ZipErrorReason,
    readonly archive: string,
    message: string,
    readonly entry?: string,
  ) {
    super(`${archive}${entry === undefined ? "" : ` (entry "${entry}")`}: ${message}`)
  }
}
