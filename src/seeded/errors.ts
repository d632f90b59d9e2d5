// The one error type of the synth library: bad options, or a tokenizer/checkpoint folder that
// is missing a file or holds something other than what the synthesizer expects.

export type SynthErrorReason = "InvalidOptions" | "MissingFile" | "InvalidFile" | "WriteFailed"

export class SynthError extends Error {
  readonly _tag = "SynthError"
  override readonly name = "SynthError"
  constructor(
    readonly reason: SynthErrorReason,
    message: string,
    /** The file or folder the error is about, when there is one. */
    readonly path?: string,
  ) {
    super(message)
  }
}
