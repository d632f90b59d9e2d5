// The one error type of the calibration-set module: bad token input, bad options, or a calibration
// folder that does not hold what its manifest says, naming the field, sample or file at fault.

export type CalibrationSetErrorReason = "bad-input" | "bad-option" | "bad-set"

export class CalibrationSetError extends Error {
  override readonly name = "CalibrationSetError"
  readonly _tag = "CalibrationSetError"
  readonly reason: CalibrationSetErrorReason
  constructor(reason: CalibrationSetErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.reason = reason
  }
}
