// exclude: "auto" — automatic mixed precision. Quantize one layer group at a time (encoder layer N,
// or "other" for embeddings and heads) to measure its own loss (1 − fidelity to fp32 on held-out
// samples); then keep the most sensitive groups in float, one more at a time, until the whole
// model meets the budget. Every measurement is recorded so kiln.json says what was kept and why.

import { join } from "node:path"
import type { CalibrationSample } from "../calibration/index.ts"
import type { OnnxModel } from "../onnx/index.ts"
import type { Exclusions } from "./exclude.ts"
import { measureFidelity, type Fidelity } from "./fidelity.ts"
import type { ActivationMode } from "./int8-rewrite.ts"
import type { Int8Planner } from "./int8-planner.ts"

export interface SensitivityRecord {
  readonly budget: { readonly meanCosine: number }
  readonly metric: Fidelity["metric"]
  readonly output: string
  readonly heldOutSamples: number
  /** Each group quantized alone: its loss = 1 − mean fidelity. Sorted, most sensitive first. */
  readonly groups: readonly { readonly group: string; readonly nodes: number; readonly loss: number; readonly mean: number; readonly min: number }[]
  /** The search, starting with nothing kept in float. */
  readonly steps: readonly { readonly keptFloat: readonly string[]; readonly mean: number; readonly min: number }[]
  readonly keptFloat: readonly { readonly group: string; readonly loss: number; readonly why: string }[]
  readonly met: boolean
}

export const groupOf = (layer: number | undefined): string => (layer === undefined ? "other" : `layer.${layer}`)

export const searchExclusions = async (options: {
  readonly planner: Int8Planner
  readonly activations: ActivationMode
  readonly base: Exclusions
  readonly reference: readonly Float32Array[]
  readonly samples: readonly CalibrationSample[]
  readonly output: string
  readonly budget: { readonly meanCosine: number }
  readonly tmpDir: string
  readonly threads?: number
  readonly log?: (line: string) => void
}): Promise<{ exclusions: Exclusions; record: SensitivityRecord }> => {
  const { planner, activations, base, budget } = options
  const groups = new Map<string, string[]>()
  for (const t of planner.targets) {
    if (base.has(t.node.name)) continue
    const g = groupOf(t.layer)
    groups.set(g, [...(groups.get(g) ?? []), t.node.name])
  }
  let evaluation = 0
  const evaluate = async (excluded: Exclusions, model?: OnnxModel): Promise<Fidelity> =>
    measureFidelity(model ?? planner.build(activations, excluded).model, options.reference, options.samples, options.output, join(options.tmpDir, `candidate-${evaluation++}`), options.threads)
  const excludeGroups = (names: readonly string[], why: (g: string) => string): Exclusions => {
    const out: Exclusions = new Map(base)
    for (const g of names) for (const node of groups.get(g) ?? []) out.set(node, why(g))
    return out
  }

  const measured: SensitivityRecord["groups"][number][] = []
  const names = [...groups.keys()]
  for (const g of names) {
    const f = await evaluate(excludeGroups(names.filter((x) => x !== g), () => "sensitivity probe"))
    measured.push({ group: g, nodes: groups.get(g)!.length, loss: 1 - f.mean, mean: f.mean, min: f.min })
    options.log?.(`sensitivity: ${g} alone → mean ${f.mean.toFixed(6)}`)
  }
  measured.sort((a, b) => b.loss - a.loss || a.group.localeCompare(b.group))

  const steps: { keptFloat: string[]; mean: number; min: number }[] = []
  let metric: Fidelity["metric"] = "cosine"
  let kept: string[] = []
  for (let k = 0; k <= measured.length; k++) {
    kept = measured.slice(0, k).map((m) => m.group)
    const f: Fidelity = k === measured.length ? { metric, mean: 1, min: 1 } : await evaluate(excludeGroups(kept, () => ""))
    metric = f.metric
    steps.push({ keptFloat: kept, mean: f.mean, min: f.min })
    options.log?.(`sensitivity: float [${kept.join(", ")}] → mean ${f.mean.toFixed(6)}`)
    if (f.mean >= budget.meanCosine) break
  }
  const last = steps.at(-1)!
  const keptFloat = kept.map((group) => {
    const m = measured.find((x) => x.group === group)!
    return { group, loss: m.loss, why: `quantized alone it costs ${m.loss.toExponential(2)} of mean ${metric}; the budget ${budget.meanCosine} needed it in float` }
  })
  const exclusions = excludeGroups(kept, (g) => `exclude: "auto" (group ${g} kept in float)`)
  return {
    exclusions,
    record: {
      budget,
      metric,
      output: options.output,
      heldOutSamples: options.samples.length,
      groups: measured,
      steps,
      keptFloat,
      met: last.mean >= budget.meanCosine && kept.length < measured.length,
    },
  }
}
