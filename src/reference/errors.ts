// The one error type of the reference forward: a weight missing or of the wrong shape, or a
// batch that does not fit the model (ragged rows, ids out of range, too long).

export type ReferenceForwardErrorReason = "MissingWeight" | "WeightShape" | "InvalidBatch" | "UnsupportedConfig"

export class ReferenceForwardError extends Error {
  readonly _tag = "ReferenceForwardError"
  override readonly name = "ReferenceForwardError"
  constructor(
    readonly reason: ReferenceForwardErrorReason,
    message: string,
  ) {
    super(message)
  }
}
