// The exporter's one error type: a closed set of reasons, the file or tensor concerned, and a
// message that says what was expected, so a bad checkpoint or bad option is diagnosable.

export type ExportErrorReason =
  | "InvalidOptions" // an option out of range or inconsistent with the checkpoint
  | "UnsupportedModel" // config.json describes something the exporter cannot build
  | "InvalidCheckpoint" // the checkpoint folder cannot be read (no config, no weights, corrupt file)
  | "MissingWeight" // a tensor the graph needs is not in the checkpoint
  | "WeightShape" // a tensor's shape disagrees with config.json
  | "InvalidTokenizer" // the tokenizer files would not load in transformers.js or do not fit the model
  | "WriteFailed" // the output folder could not be written

export class ExportError extends Error {
  override readonly name = "ExportError"
  readonly _tag = "ExportError"
  constructor(
    readonly reason: ExportErrorReason,
    message: string,
    readonly detail: { readonly file?: string; readonly tensor?: string } = {},
    options?: { readonly cause?: unknown },
  ) {
    super(message, options)
  }
}
