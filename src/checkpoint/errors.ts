// Errors of the checkpoint readers and writers. Each names the file and, where there is one,
// the tensor or config field, and says what was expected, so a bad model folder is diagnosable.

export type CheckpointErrorReason =
  | "NotFound" // no such file / no weights in a folder
  | "InvalidConfig" // config.json missing a field, mistyped, or not JSON
  | "UnsupportedModelType" // config.json model_type kiln does not read
  | "InvalidHeader" // safetensors header or index malformed
  | "Truncated" // data ends before a tensor does
  | "InvalidTensor" // shape/dtype/offsets inconsistent
  | "UnsupportedDType"
  | "InvalidPickle" // malformed pickle or an unexpected structure
  | "InvalidInput" // a writer was given bad sources
  | "Closed" // read after close()

export class CheckpointError extends Error {
  override readonly name: string = "CheckpointError"
  readonly _tag: string = "CheckpointError"
  constructor(
    readonly reason: CheckpointErrorReason,
    readonly file: string,
    message: string,
    readonly detail: { readonly tensor?: string; readonly field?: string } = {},
  ) {
    super(`${file}${detail.tensor === undefined ? "" : ` (tensor "${detail.tensor}")`}: ${message}`)
  }
}

/** A pickle opcode or structure kiln does not understand, with the byte offset where it was met. */
export class PickleError extends Error {
  override readonly name = "PickleError"
  readonly _tag = "PickleError"
  constructor(
    readonly file: string,
    readonly offset: number,
    message: string,
  ) {
    super(`${file} (pickle offset ${offset}): ${message}`)
  }
}

/**
 * A pickle asked for a Python global outside the allow-list (os.system, builtins.eval …).
 * Raised at the GLOBAL/STACK_GLOBAL opcode itself: nothing after it is interpreted.
 */
export class PickleSecurityError extends Error {
  override readonly name = "PickleSecurityError"
  readonly _tag = "PickleSecurityError"
  constructor(
    readonly file: string,
    readonly offset: number,
    /** "module.name" as the pickle spelled it. */
    readonly global: string,
  ) {
    super(
      `${file} (pickle offset ${offset}): refusing to load global "${global}"; only tensor-rebuilding ` +
        `globals (collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch storage types …) are allowed. ` +
        `The file may be malicious; re-save it as safetensors from a trusted environment.`,
    )
  }
}
