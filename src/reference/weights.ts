// Looks up Hugging Face weights by their base-model name whether or not the checkpoint carries
// a wrapper class's prefix (`bert.` of a *ForSequenceClassification, `model.` of a *ForCausalLM …;
// the family says which), checks shapes, and widens them to float64.

import type { LazyTensor } from "../tensor/index.ts"
import { ReferenceForwardError } from "./errors.ts"

export class WeightLookup {
  constructor(
    private readonly weights: ReadonlyMap<string, LazyTensor>,
    /** Prefixes tried, in order, after the bare name (the family's `weightPrefixes`). */
    private readonly prefixes: readonly string[],
    /** Named in errors, e.g. "checkpoint" or "sparse_linear.pt". */
    private readonly source = "checkpoint",
  ) {}

  /** The tensor stored as `name` or a prefix + `name`, if any. */
  find(name: string): LazyTensor | undefined {
    const exact = this.weights.get(name)
    if (exact) return exact
    for (const prefix of this.prefixes) {
      const prefixed = this.weights.get(prefix + name)
      if (prefixed) return prefixed
    }
    return undefined
  }

  has(name: string): boolean {
    return this.find(name) !== undefined
  }

  /** The tensor as float32 after checking its shape (the word-embedding table stays float32 to save memory). */
  float32(name: string, shape: readonly number[]): Float32Array {
    const tensor = this.find(name)
    if (!tensor) {
      throw new ReferenceForwardError("MissingWeight", `${this.source} has no tensor "${name}"${this.prefixes.length > 0 ? ` (also tried the ${this.prefixes.join("/")} prefixes)` : ""}`)
    }
    const matches = tensor.shape.length === shape.length && tensor.shape.every((d, i) => d === shape[i])
    if (!matches) {
      throw new ReferenceForwardError(
        "WeightShape",
        `${this.source} tensor "${tensor.name}" has shape [${tensor.shape.join(", ")}], expected [${shape.join(", ")}]`,
      )
    }
    return tensor.readFloat32()
  }

  float64(name: string, shape: readonly number[]): Float64Array {
    return Float64Array.from(this.float32(name, shape))
  }
}
