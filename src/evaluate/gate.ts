// The accuracy gate: a budget per metric for how far a candidate may fall below its reference, and
// floors for fidelity figures. A violation names the metric, both values and the budget.
export interface GateViolation {
  readonly metric: string
  readonly message: string
}

export const checkMaxDrop = (
  candidate: Readonly<Record<string, number>>,
  reference: Readonly<Record<string, number>>,
  maxDrop: Readonly<Record<string, number>>,
): GateViolation[] => {
  const out: GateViolation[] = []
  for (const [metric, budget] of Object.entries(maxDrop)) {
    const c = candidate[metric]
    const r = reference[metric]
    if (c === undefined || r === undefined) {
      out.push({ metric, message: `maxDrop.${metric}: no such metric (have: ${Object.keys(candidate).join(", ")})` })
      continue
    }
    const drop = r - c
    if (drop > budget) out.push({ metric, message: `${metric} dropped by ${drop.toFixed(5)} (reference ${r.toFixed(5)} → ${c.toFixed(5)}), over the budget maxDrop.${metric} = ${budget}` })
  }
  return out
}

export const checkMinimums = (values: Readonly<Record<string, number>>, minimums: Readonly<Record<string, number>>): GateViolation[] => {
  const out: GateViolation[] = []
  for (const [metric, floor] of Object.entries(minimums)) {
    const v = values[metric]
    if (v === undefined) out.push({ metric, message: `min.${metric}: no such figure (have: ${Object.keys(values).join(", ")})` })
    else if (v < floor) out.push({ metric, message: `${metric} = ${v.toFixed(6)} is below the floor min.${metric} = ${floor}` })
  }
  return out
}
