// Builds int8 variants of one float model: finds the candidates once, then rewrites a fresh copy for
// any set of excluded nodes (the sensitivity search builds many), reusing quantized weights.

import { GraphEditor, type OnnxModel } from "../onnx/index.ts"
import type { GptqWeightRounder } from "./gptq.ts"
import { rewriteInt8, type ActivationMode, type QuantizedNode } from "./int8-rewrite.ts"
import { findTargets, type QuantTarget, type SkippedNode } from "./targets.ts"
import type { QuantizedWeight, WeightGranularity } from "./weight-quant.ts"
import type { Exclusions } from "./exclude.ts"
import { buildSwitchableInt8, type SwitchableInt8Build } from "./switchable-int8.ts"

export interface Int8PlannerOptions {
  readonly weights: WeightGranularity
  readonly attention: "quantize" | "float"
  readonly embeddings: boolean
  /** GPTQ rounding of MatMul/Gemm/Attention weights (absent: nearest). */
  readonly rounder?: GptqWeightRounder
}

export interface Int8Build {
  readonly model: OnnxModel
  readonly quantized: readonly QuantizedNode[]
  /** Candidates left in float and why. */
  readonly float: readonly SkippedNode[]
}

export class Int8Planner {
  readonly model: OnnxModel
  readonly options: Int8PlannerOptions
  /** Candidates the options allow (before exclusions). */
  readonly targets: readonly QuantTarget[]
  /** Candidates the options or the graph rule out, and why. */
  readonly ruledOut: readonly SkippedNode[]
  private readonly weightCache = new Map<string, QuantizedWeight>()

  constructor(model: OnnxModel, options: Int8PlannerOptions) {
    this.model = model
    this.options = options
    const { targets, skipped } = findTargets(new GraphEditor(model))
    const ruledOut = [...skipped]
    this.targets = targets.filter((t) => {
      if (t.kind === "attention" && options.attention === "float") {
        ruledOut.push({ node: t.node.name, opType: "com.microsoft:Attention", reason: 'attention: "float"' })
        return false
      }
      if (t.kind === "gather") return options.embeddings
      return true
    })
    this.ruledOut = ruledOut
  }

  /** Activation tensors the targets read (what static calibration must observe). */
  activationTensors(excluded: Exclusions = new Map()): string[] {
    return [...new Set(this.targets.filter((t) => t.kind !== "gather" && !excluded.has(t.node.name)).map((t) => (t.kind === "gather" ? "" : t.activation)))]
  }

  build(activations: ActivationMode, excluded: Exclusions, producer = "kiln-quantize"): Int8Build {
    const editor = new GraphEditor(this.model)
    const chosen = this.targets.filter((t) => !excluded.has(t.node.name))
    const float: SkippedNode[] = [
      ...this.ruledOut,
      ...this.targets.filter((t) => excluded.has(t.node.name)).map((t) => ({ node: t.node.name, opType: t.node.opType, reason: `excluded by ${excluded.get(t.node.name)}` })),
    ]
    const quantized = rewriteInt8(editor, chosen, {
      weights: this.options.weights,
      activations,
      weightCache: this.weightCache,
      ...(this.options.rounder !== undefined ? { rounder: this.options.rounder } : {}),
    })
    return { model: editor.build({ producer }), quantized, float }
  }

  /**
   * One model holding every not-excluded target both ways, int8 chosen per group by a bool input
   * (see switchable-int8.ts); the same rewrite and cached weights as `build`, so a configuration
   * evaluates as the model `build` makes for it.
   */
  buildSwitchable(activations: ActivationMode, excluded: Exclusions, groups: readonly { readonly group: string; readonly nodes: readonly string[] }[]): SwitchableInt8Build {
    return buildSwitchableInt8(this.model, this.targets.filter((t) => !excluded.has(t.node.name)), groups, {
      weights: this.options.weights,
      activations,
      weightCache: this.weightCache,
      ...(this.options.rounder !== undefined ? { rounder: this.options.rounder } : {}),
    })
  }
}
