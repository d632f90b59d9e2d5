// The one error type of the dataset loaders: bad input names the file, the 1-based line and
// what was expected there, so a user can open the file at that line and fix it.

export type DatasetErrorReason = "unreadable" | "invalid-option" | "invalid-json" | "invalid-record" | "record-too-large" | "empty"

export class DatasetError extends Error {
  override readonly name = "DatasetError"
  readonly reason: DatasetErrorReason
  readonly file: string
  /** 1-based line number; absent when the problem concerns the whole file. */
  readonly line: number | undefined
  readonly detail: string

  constructor(args: { reason: DatasetErrorReason; file: string; line?: number; detail: string; cause?: unknown }) {
    const where = args.line === undefined ? args.file : `${args.file}:${args.line}`
    super(`${where}: ${args.detail}`, args.cause === undefined ? undefined : { cause: args.cause })
    this.reason = args.reason
    this.file = args.file
    this.line = args.line
    this.detail = args.detail
  }
}
