// The errors of the ONNX library, one class per boundary: building, writing, reading, checking.
// Each message names the file, tensor, node or field at fault and what was expected.

/** Bad arguments to the graph builder or tensor helpers (a programming error in an exporter). */
export class OnnxBuildError extends Error {
  override readonly name = "OnnxBuildError"
  readonly _tag = "OnnxBuildError"
}

/** Writing a model failed: data inconsistent with its declaration, a size limit, or I/O. */
export class OnnxWriteError extends Error {
  override readonly name = "OnnxWriteError"
  readonly _tag = "OnnxWriteError"
  constructor(message: string, readonly path: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A model file (or its external data) could not be read or is malformed or unsafe. */
export class OnnxReadError extends Error {
  override readonly name = "OnnxReadError"
  readonly _tag = "OnnxReadError"
  constructor(message: string, readonly path: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** ONNX Runtime could not load or optimize a model. */
export class OnnxOptimizeError extends Error {
  override readonly name = "OnnxOptimizeError"
  readonly _tag = "OnnxOptimizeError"
  constructor(message: string, readonly path: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** One structural problem found by `checkModel`. */
export interface OnnxCheckIssue {
  readonly code:
    | "unknown-input"
    | "out-of-order"
    | "duplicate-output"
    | "duplicate-name"
    | "output-not-produced"
    | "initializer-size"
    | "bad-dims"
    | "missing-opset"
    | "duplicate-opset"
  /** `name (OpType)` of the node at fault, when a node is. */
  readonly node?: string
  /** The tensor (value or initializer) at fault, when one is. */
  readonly tensor?: string
  readonly message: string
}

/** `checkModel` found problems; `issues` lists every one, the message repeats them. */
export class OnnxCheckError extends Error {
  override readonly name = "OnnxCheckError"
  readonly _tag = "OnnxCheckError"
  constructor(readonly graphName: string, readonly issues: readonly OnnxCheckIssue[]) {
    super(
      `ONNX graph "${graphName}" failed the structural check (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${i.message}`).join("\n"),
    )
  }
}
