// Looks up Hugging Face weights by their base-model name whether or not the checkpoint carries
// the `bert.` / `roberta.` prefix of a *ForSequenceClassification model, checks shapes, and
// widens them to float64.

import type { EncoderFamily } from "../checkpoint/encoder-config.ts"
import type { LazyTensor } from "../tensor/index.ts"
import { ReferenceForwardError } from "./errors.ts"

const prefixesByFamily: Record<EncoderFamily, readonly string[]> = {
  bert: ["bert.", "roberta."],
  "xlm-roberta": ["roberta.", "bert."],
}

export class WeightLookup {
  constructor(
    private readonly weights: ReadonlyMap<string, LazyTensor>,
    private readonly family: EncoderFamily,
    /** Named in errors, e.g. "checkpoint" or "sparse_linear.pt". */
    private readonly source = "checkpoint",
  ) {}

  /** The tensor stored as `name`, `bert.name` or `roberta.name`, if any. */
  find(name: string): LazyTensor | undefined {
    const exact = this.weights.get(name)
    if (exact) return exact
    for (const prefix of prefixesByFamily[this.family]) {
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
      throw new ReferenceForwardError("MissingWeight", `${this.source} has no tensor "${name}" (also tried the bert./roberta. prefixes)`)
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
