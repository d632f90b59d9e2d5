// Finds the tensors the graph needs in a checkpoint: by the family's base-model name, with or
// without the prefixes the family's wrapper classes add (`bert.` in a *ForSequenceClassification,
// `model.` in a *ForCausalLM …), with the legacy LayerNorm gamma/beta names, and with the shape
// config.json implies. Resolution is eager (errors come before any file is written); reading stays lazy.
import type { LazyTensor } from "../tensor/index.ts"
import { ExportError } from "./errors.ts"

/** Old TF-converted checkpoints call LayerNorm's weight/bias gamma/beta. */
const legacyNames = (name: string): string[] => {
  if (name.endsWith("LayerNorm.weight")) return [name.slice(0, -"weight".length) + "gamma"]
  if (name.endsWith("LayerNorm.bias")) return [name.slice(0, -"bias".length) + "beta"]
  return []
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i])

export class CheckpointWeights {
  constructor(
    private readonly tensors: ReadonlyMap<string, LazyTensor>,
    /** Prefixes tried, in order, after the bare name (the family's `weightPrefixes`). */
    private readonly prefixes: readonly string[],
    /** Named in errors: the weights file, or e.g. "sparse_linear.pt". */
    private readonly source: string,
    /** Prefixes tried besides the bare name ("" only for head files such as sparse_linear.pt). */
    private readonly usePrefixes = true,
  ) {}

  /** The stored tensor for a base-model name, or undefined. */
  find(name: string): LazyTensor | undefined {
    for (const candidate of [name, ...legacyNames(name)]) {
      const exact = this.tensors.get(candidate)
      if (exact) return exact
      if (!this.usePrefixes) continue
      for (const prefix of this.prefixes) {
        const prefixed = this.tensors.get(prefix + candidate)
        if (prefixed) return prefixed
      }
    }
    return undefined
  }

  /** The tensor, checked against `shape`; a missing or misshapen tensor is an ExportError naming it. */
  require(name: string, shape: readonly number[]): LazyTensor {
    const tensor = this.find(name)
    if (tensor === undefined) {
      const prefixes = this.prefixes.length > 0 ? `the ${this.prefixes.join("/")} prefixes and ` : ""
      const tried = this.usePrefixes ? ` (also tried ${prefixes}LayerNorm gamma/beta names)` : ""
      throw new ExportError("MissingWeight", `${this.source}: missing tensor "${name}"${tried}; the exported graph needs it`, {
        file: this.source,
        tensor: name,
      })
    }
    if (!sameShape(tensor.shape, shape)) {
      throw new ExportError(
        "WeightShape",
        `${this.source}: tensor "${tensor.name}" has shape [${tensor.shape.join(", ")}], expected [${shape.join(", ")}] from config.json`,
        { file: this.source, tensor: tensor.name },
      )
    }
    return tensor
  }
}
