// A typed builder for one ONNX graph: inputs, outputs, initializers (in memory or thunks read at
// write time), nodes with inferred attribute types and deterministic auto-naming, opset imports.
import { type AttrInput, toAttribute } from "./attributes.ts"
import { checkModel } from "./checker.ts"
import { type ElementType, isElementType } from "./dtype.ts"
import { OnnxBuildError } from "./errors.ts"
import { type Attribute, type Dim, normalizeDomain, type OnnxModel, type OnnxNode, type OnnxTensor, type OpsetImport, type ValueInfo } from "./model.ts"
import { type TensorInput, toTensorData } from "./tensor-data.ts"

export interface GraphBuilderOptions {
  /** Graph name (also used in error messages). */
  readonly name: string
  /** Opset of the default ONNX domain. */
  readonly opset: number
  /** Opsets of other domains used by nodes, e.g. `{ "com.microsoft": 1 }`. */
  readonly opsets?: Readonly<Record<string, number>>
  /** Defaults to the IR version the ONNX release introducing `opset` used (opset 17 → IR 8). */
  readonly irVersion?: number
  readonly producerName?: string
  readonly producerVersion?: string
  readonly docString?: string
  /** metadata_props, written in the given key order. */
  readonly metadata?: Readonly<Record<string, string>>
}

export interface NodeOptions<O extends number | readonly string[]> {
  /** Output names ("" for an unused optional output), or how many to auto-name. Default 1. */
  readonly outputs?: O
  /** Attributes; `undefined` values are skipped so optional attributes can be passed inline. */
  readonly attrs?: Readonly<Record<string, AttrInput | undefined>>
  /** "" or "ai.onnx" for the default domain (the default), e.g. "com.microsoft". */
  readonly domain?: string
  /** Node name; default `<OpType>_<n>` counting per op type. */
  readonly name?: string
  readonly docString?: string
}

type TupleOf<N extends number, Acc extends string[] = []> = Acc["length"] extends N ? Acc : TupleOf<N, [...Acc, string]>

/** The output names `node` returns: a tuple as long as the requested outputs. */
export type NodeOutputs<O> = O extends readonly string[]
  ? { -readonly [K in keyof O]: string }
  : O extends number
    ? number extends O
      ? string[]
      : TupleOf<O>
    : [string]

/** IR version paired with each opset by the ONNX release that introduced the opset. */
export const irVersionForOpset = (opset: number): number =>
  opset >= 23 ? 11 : opset >= 21 ? 10 : opset >= 19 ? 9 : opset >= 15 ? 8 : opset >= 12 ? 7 : opset >= 11 ? 6 : opset >= 10 ? 5 : opset >= 9 ? 4 : 3

export class GraphBuilder {
  private readonly options: GraphBuilderOptions
  private readonly opsetImports: OpsetImport[]
  private readonly inputs: ValueInfo[] = []
  private readonly outputs: ValueInfo[] = []
  private readonly valueInfos: ValueInfo[] = []
  private readonly initializers: OnnxTensor[] = []
  private readonly nodes: OnnxNode[] = []
  /** Every value name in use (graph inputs, initializers, node outputs). */
  private readonly valueNames = new Set<string>()
  private readonly nodeNames = new Set<string>()
  private readonly outputNames = new Set<string>()
  private readonly valueInfoNames = new Set<string>()
  private readonly opCounters = new Map<string, number>()

  constructor(options: GraphBuilderOptions) {
    if (typeof options.name !== "string") throw new OnnxBuildError("GraphBuilder: `name` must be a string")
    checkOpsetVersion("GraphBuilder option `opset`", options.opset)
    this.options = options
    const others = Object.entries(options.opsets ?? {})
      .map(([domain, version]) => {
        checkOpsetVersion(`GraphBuilder option \`opsets["${domain}"]\``, version)
        return { domain: normalizeDomain(domain), version }
      })
      .filter((o) => o.domain !== "")
      .sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0))
    this.opsetImports = [{ domain: "", version: options.opset }, ...others]
  }

  /** Declares a graph input; returns its name. */
  input(name: string, dtype: ElementType, dims: readonly (number | string)[]): string {
    this.claimValue(name, "graph input")
    this.inputs.push({ name, dtype: checkDtype(name, dtype), dims: checkDims(name, dims) })
    return name
  }

  /** Declares `name` (a node output, input or initializer) as a graph output; returns it. */
  output(name: string, dtype: ElementType, dims: readonly (number | string)[]): string {
    checkName(name, "graph output")
    if (this.outputNames.has(name)) throw new OnnxBuildError(`graph "${this.options.name}": "${name}" is already a graph output`)
    this.outputNames.add(name)
    this.outputs.push({ name, dtype: checkDtype(name, dtype), dims: checkDims(name, dims) })
    return name
  }

  /** Records the type and shape of an intermediate value (value_info); returns its name. */
  valueInfo(name: string, dtype: ElementType, dims: readonly (number | string)[]): string {
    checkName(name, "value info")
    if (this.valueInfoNames.has(name)) throw new OnnxBuildError(`graph "${this.options.name}": value info for "${name}" is already recorded`)
    this.valueInfoNames.add(name)
    this.valueInfos.push({ name, dtype: checkDtype(name, dtype), dims: checkDims(name, dims) })
    return name
  }

  /**
   * Adds a weight. `data` is checked against dtype × dims now, unless it is a thunk, which is
   * only called (once) when the model is written, so weights can stream from a checkpoint.
   */
  initializer(name: string, dtype: ElementType, dims: readonly number[], data: TensorInput): string {
    checkName(name, "initializer")
    checkDtype(name, dtype)
    for (const d of dims)
      if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
        throw new OnnxBuildError(`initializer "${name}": dims [${dims.join(", ")}] must be non-negative integers`)
    // Validate the data before claiming the name, so a failed call leaves the builder unchanged.
    const tensorData = toTensorData(name, dtype, dims, data)
    this.claimValue(name, "initializer")
    this.initializers.push({ name, dtype, dims: [...dims], data: tensorData })
    return name
  }

  /** Adds a node and returns its output names (one by default). */
  node<const O extends number | readonly string[] = 1>(opType: string, inputs: readonly string[], options: NodeOptions<O> = {}): NodeOutputs<O> {
    if (typeof opType !== "string" || opType === "") throw new OnnxBuildError(`graph "${this.options.name}": node op type must be a non-empty string`)
    const domain = normalizeDomain(options.domain ?? "")
    if (!this.opsetImports.some((o) => o.domain === domain))
      throw new OnnxBuildError(
        `node ${options.name ? `"${options.name}" ` : ""}(${opType}) uses domain "${domain}" which has no opset import; ` +
          `add it to GraphBuilder's \`opsets\`, e.g. opsets: { "${domain}": 1 }`,
      )
    const auto = options.name === undefined ? this.nextAutoNodeName(opType) : undefined
    const name = options.name ?? auto!.name
    if (this.nodeNames.has(name)) throw new OnnxBuildError(`graph "${this.options.name}": node name "${name}" is already used`)
    const where = `node "${name}" (${opType})`
    inputs.forEach((input, i) => {
      if (typeof input !== "string") throw new OnnxBuildError(`${where}: input ${i} must be a string (use "" for an omitted optional input)`)
    })
    const requested = options.outputs ?? 1
    let outputs: string[]
    if (typeof requested === "number") {
      if (!Number.isSafeInteger(requested) || requested < 0) throw new OnnxBuildError(`${where}: outputs count must be a non-negative integer`)
      outputs = Array.from({ length: requested }, (_, i) => this.uniqueName(`${name}_output_${i}`))
    } else {
      outputs = [...(requested as readonly string[])]
      const seen = new Set<string>()
      for (const out of outputs) {
        if (typeof out !== "string") throw new OnnxBuildError(`${where}: output names must be strings`)
        if (out === "") continue
        if (seen.has(out) || this.valueNames.has(out)) throw new OnnxBuildError(`${where}: output "${out}" is already the name of another value`)
        seen.add(out)
      }
    }
    const attributes: Attribute[] = []
    for (const [key, value] of Object.entries(options.attrs ?? {}))
      if (value !== undefined) attributes.push(toAttribute(where, key, value))
    for (const out of outputs) if (out !== "") this.valueNames.add(out)
    if (auto) this.opCounters.set(opType, auto.counter)
    this.nodeNames.add(name)
    this.nodes.push({ name, opType, domain, inputs: [...inputs], outputs, attributes, ...(options.docString ? { docString: options.docString } : {}) })
    return outputs as NodeOutputs<O>
  }

  /** Adds a single-output node and returns that output's name, for chaining. */
  op(opType: string, inputs: readonly string[], options: Omit<NodeOptions<1>, "outputs"> & { readonly output?: string } = {}): string {
    const { output, ...rest } = options
    const [out] = output === undefined ? this.node(opType, inputs, rest) : this.node(opType, inputs, { ...rest, outputs: [output] })
    return out
  }

  /** A value name not yet used: `base`, else `base_1`, `base_2`, … (not reserved until used). */
  uniqueName(base: string): string {
    if (!this.valueNames.has(base)) return base
    for (let i = 1; ; i++) if (!this.valueNames.has(`${base}_${i}`)) return `${base}_${i}`
  }

  /** Whether `name` is already a graph input, initializer or node output. */
  has(name: string): boolean {
    return this.valueNames.has(name)
  }

  /** A snapshot of the model; by default runs `checkModel` and throws OnnxCheckError on problems. */
  build(options: { readonly check?: boolean } = {}): OnnxModel {
    const o = this.options
    const model: OnnxModel = {
      irVersion: o.irVersion ?? irVersionForOpset(o.opset),
      opsetImports: this.opsetImports.map((x) => ({ ...x })),
      producerName: o.producerName ?? "kiln",
      producerVersion: o.producerVersion ?? "",
      domain: "",
      modelVersion: 0,
      docString: o.docString ?? "",
      metadata: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: o.name,
        nodes: [...this.nodes],
        inputs: [...this.inputs],
        outputs: [...this.outputs],
        valueInfos: [...this.valueInfos],
        initializers: [...this.initializers],
      },
    }
    if (options.check ?? true) checkModel(model)
    return model
  }

  private claimValue(name: string, what: string): void {
    checkName(name, what)
    if (this.valueNames.has(name)) throw new OnnxBuildError(`graph "${this.options.name}": ${what} "${name}" reuses the name of another value`)
    this.valueNames.add(name)
  }

  /** The next free `<OpType>_<n>` and the counter value to store once the node is added. */
  private nextAutoNodeName(opType: string): { name: string; counter: number } {
    for (let n = this.opCounters.get(opType) ?? 0; ; n++) {
      const name = `${opType}_${n}`
      if (!this.nodeNames.has(name)) return { name, counter: n + 1 }
    }
  }
}

const checkName = (name: string, what: string): void => {
  if (typeof name !== "string" || name === "") throw new OnnxBuildError(`${what} name must be a non-empty string, got ${JSON.stringify(name)}`)
}

const checkDtype = (name: string, dtype: ElementType): ElementType => {
  if (!isElementType(dtype)) throw new OnnxBuildError(`"${name}": unknown dtype ${JSON.stringify(dtype)}`)
  return dtype
}

const checkDims = (name: string, dims: readonly (number | string)[]): Dim[] => {
  if (!Array.isArray(dims)) throw new OnnxBuildError(`"${name}": dims must be an array of sizes or symbolic names`)
  return dims.map((d, i) => {
    if (typeof d === "number" && Number.isSafeInteger(d) && d >= 0) return d
    if (typeof d === "string" && d !== "") return d
    throw new OnnxBuildError(`"${name}": dim ${i} (${JSON.stringify(d)}) must be a non-negative integer or a non-empty symbolic name`)
  })
}

const checkOpsetVersion = (what: string, version: number): void => {
  if (!Number.isSafeInteger(version) || version < 1) throw new OnnxBuildError(`${what} must be a positive integer, got ${JSON.stringify(version)}`)
}
