// The one error type of the tokenizer library: a missing or malformed tokenizer folder, bad
// options or input that cannot fit the model's length, each naming the file or option at fault.

export type TokenizerErrorReason = "missing-file" | "invalid-file" | "load-failed" | "invalid-option" | "invalid-input" | "too-long"

export class TokenizerError extends Error {
  override readonly name = "TokenizerError"
  readonly reason: TokenizerErrorReason
  /** The tokenizer folder or file concerned, when there is one. */
  readonly path: string | undefined

  constructor(reason: TokenizerErrorReason, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    this.path = options?.path
  }
}
