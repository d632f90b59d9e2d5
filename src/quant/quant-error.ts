// The one error type of the quantization math: bad parameters, shapes or calibration settings,
// naming the field or tensor involved.

export type QuantErrorReason = "bad-range" | "bad-shape" | "bad-params" | "bad-option" | "no-observations"

export class QuantError extends Error {
  override readonly name = "QuantError"
  readonly reason: QuantErrorReason
  /** The option field or tensor the error is about, when there is one. */
  readonly subject: string | undefined

  constructor(reason: QuantErrorReason, subject: string | undefined, message: string) {
    super(subject === undefined ? message : `${subject}: ${message}`)
    this.reason = reason
    this.subject = subject
  }
}
