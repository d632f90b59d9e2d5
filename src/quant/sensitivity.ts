// exclude: "auto" — automatic mixed precision. Measure each group's own loss on held-out samples
// (a MatMul role of a layer, or a whole layer; see matmul-groups.ts), then keep groups in float in
// order of loss per multiply-accumulate — cheap, sensitive groups first — until the budget holds,
// then try the costliest kept groups back in int8. Every measurement is recorded in kiln.json.
// All measurements run on one switchable model (switchable-int8.ts) loaded once, each configuration
// a feed of per-group flags; only the chosen configuration is then built as its own model. The
// switchable model runs as a chain of layer segments (segmented-held-out.ts): a configuration
// starts at the first layer whose switches differ from the configuration measured before it, from
// the values stored there, so probing one group re-runs only about the layers from its own on.

import { rmSync } from "node:fs"
import { join } from "node:path"
import * as ort from "onnxruntime-node"
import type { CalibrationSample } from "../calibration/index.ts"
import type { Exclusions } from "./exclude.ts"
import { measureHeldOutFidelity, withHeldOutSession, type HeldOutFidelity } from "./held-out-fidelity.ts"
import type { ActivationMode } from "./int8-rewrite.ts"
import type { Int8Planner } from "./int8-planner.ts"
import { nodeLayerIndex } from "./layer-index.ts"
import { groupTargets } from "./matmul-groups.ts"
import { QuantError } from "./quant-error.ts"
import { withSegmentedHeldOut } from "./segmented-held-out.ts"
import { switchFlags } from "./switchable-int8.ts"
import type { Budget, SensitivityOptions } from "./quantize-options.ts"

export interface GroupSensitivity {
  readonly group: string
  readonly layer: number | undefined
  readonly role: string
  readonly nodes: number
  readonly macsPerToken: number
  /** Loss (1 − mean fidelity) this group causes: quantized alone, or what keeping it float saves. */
  readonly loss: number
  /** Held-out fidelity of the probe model. */
  readonly mean: number
  readonly min: number
  /** loss per million MACs per token: the order groups are kept in float. */
  readonly lossPerMmac: number
}

export interface SearchStep {
  readonly action: "all int8" | "keep float" | "prune"
  readonly keptFloat: readonly string[]
  /** Predicted loss of this configuration (sum of remaining group losses, scaled to the last measurement). */
  readonly predictedLoss: number
  readonly mean: number
  readonly min: number
  readonly spearman?: number
  readonly meanAbsDiff?: number
  /** Share of the candidates' MACs per token computed in float. */
  readonly floatMacsShare: number
  readonly met: boolean
}

export interface SensitivityRecord {
  readonly budget: Budget
  readonly metric: HeldOutFidelity["metric"]
  readonly output: string
  readonly heldOutSamples: number
  readonly unit: SensitivityOptions["unit"]
  readonly probe: SensitivityOptions["probe"]
  /** Every group, most sensitive (largest loss) first. */
  readonly groups: readonly GroupSensitivity[]
  /** Groups in the order they are kept in float (loss per MAC, largest first). */
  readonly order: readonly string[]
  /** Every configuration measured, starting with nothing kept in float. */
  readonly steps: readonly SearchStep[]
  readonly keptFloat: readonly { readonly group: string; readonly loss: number; readonly macsPerToken: number; readonly why: string }[]
  readonly floatMacsShare: number
  readonly met: boolean
}

/** True when `f` meets every criterion of the budget. */
export const meetsBudget = (f: HeldOutFidelity, budget: Budget): boolean =>
  (budget.meanCosine === undefined || f.mean >= budget.meanCosine) &&
  (budget.minCosine === undefined || f.min >= budget.minCosine) &&
  (budget.spearman === undefined || (f.spearman ?? -Infinity) >= budget.spearman) &&
  (budget.meanAbsDiff === undefined || (f.meanAbsDiff ?? Infinity) <= budget.meanAbsDiff)

/** The budget as a loss (1 − mean fidelity) to aim predictions at; the measurement decides. */
const targetLoss = (budget: Budget, baseline: HeldOutFidelity): number => {
  const targets: number[] = []
  if (budget.meanCosine !== undefined) targets.push(1 - budget.meanCosine)
  if (budget.spearman !== undefined) targets.push(1 - budget.spearman)
  const baseLoss = 1 - baseline.mean
  // Min and |Δ| criteria scale with the mean loss as noise grows: aim at the same fraction of it.
  if (budget.minCosine !== undefined && baseline.min < 1) targets.push(baseLoss * ((1 - budget.minCosine) / (1 - baseline.min)))
  if (budget.meanAbsDiff !== undefined && baseline.meanAbsDiff !== undefined && baseline.meanAbsDiff > 0) targets.push(baseLoss * (budget.meanAbsDiff / baseline.meanAbsDiff) ** 2)
  return Math.min(...targets)
}

export const searchExclusions = async (options: {
  readonly planner: Int8Planner
  readonly activations: ActivationMode
  readonly base: Exclusions
  readonly reference: readonly Float32Array[]
  readonly samples: readonly CalibrationSample[]
  readonly output: string
  readonly budget: Budget
  readonly search?: SensitivityOptions
  readonly tmpDir: string
  readonly threads?: number
  readonly batch?: number
  readonly log?: (line: string) => void
  /** Aborted when the caller gives up: the search stops before measuring its next configuration. */
  readonly signal?: AbortSignal
  /**
   * "segmented" (default): the switchable model (every group both ways, configurations chosen by
   * feeds) run as layer segments, each configuration from the first layer it changes.
   * "switchable": the same model whole, every configuration a full pass (what "segmented" is tested
   * and benchmarked against). "rebuild": each configuration built, written and loaded as its own
   * model (slow; the reference the switchable model is tested against).
   */
  readonly candidates?: "segmented" | "switchable" | "rebuild"
}): Promise<{ exclusions: Exclusions; record: SensitivityRecord; fidelity: HeldOutFidelity | undefined }> => {
  const { planner, activations, base, budget } = options
  const search: SensitivityOptions = options.search ?? { unit: "matmul", probe: "alone", prune: 4 }
  const groups = groupTargets(planner.targets, search.unit, (node) => base.has(node))
  const byName = new Map(groups.map((g) => [g.group, g]))
  const totalMacs = planner.targets.reduce((s, t) => s + (t.kind === "gather" ? 0 : t.weight.k * t.weight.n), 0)
  const floatShare = (kept: readonly string[]) => {
    const baseMacs = planner.targets.filter((t) => base.has(t.node.name) && t.kind !== "gather").reduce((s, t) => s + (t.kind === "gather" ? 0 : t.weight.k * t.weight.n), 0)
    return totalMacs === 0 ? 0 : (baseMacs + kept.reduce((s, g) => s + byName.get(g)!.macsPerToken, 0)) / totalMacs
  }
  const scalarOnly = (field: "spearman" | "meanAbsDiff", metric: HeldOutFidelity["metric"]) => {
    if (budget[field] !== undefined && metric !== "pearson")
      throw new QuantError("bad-option", `budget.${field}`, `applies to one score per sample (reranker logits); output "${options.output}" is a vector, judged by cosine`)
  }

  const excludeGroups = (names: Iterable<string>, why: (g: string) => string): Exclusions => {
    const out: Exclusions = new Map(base)
    for (const g of names) for (const node of byName.get(g)?.nodes ?? []) out.set(node, why(g))
    return out
  }

  /** The search proper, measuring each configuration (groups kept in float) with `evaluate`. */
  const runSearch = async (measure: (keptFloat: readonly string[]) => Promise<HeldOutFidelity>): Promise<{ exclusions: Exclusions; record: SensitivityRecord; fidelity: HeldOutFidelity | undefined }> => {
    // Every configuration is one measurement of the held-out set: the point to stop at when aborted.
    const evaluate = (keptFloat: readonly string[]): Promise<HeldOutFidelity> => {
      options.signal?.throwIfAborted()
      return measure(keptFloat)
    }
    const describe = (f: HeldOutFidelity) => `mean ${f.mean.toFixed(6)}, min ${f.min.toFixed(5)}${f.spearman !== undefined ? `, Spearman ${f.spearman.toFixed(5)}` : ""}`

    const baseline = await evaluate([])
    scalarOnly("spearman", baseline.metric)
    scalarOnly("meanAbsDiff", baseline.metric)
    const metric = baseline.metric
    const baseLoss = 1 - baseline.mean
    options.log?.(`sensitivity: all ${groups.length} groups int8 → ${describe(baseline)}`)
    const steps: SearchStep[] = []
    const step = (action: SearchStep["action"], kept: readonly string[], predictedLoss: number, f: HeldOutFidelity): SearchStep => {
      const s: SearchStep = {
        action,
        keptFloat: [...kept],
        predictedLoss,
        mean: f.mean,
        min: f.min,
        ...(f.spearman !== undefined ? { spearman: f.spearman } : {}),
        ...(f.meanAbsDiff !== undefined ? { meanAbsDiff: f.meanAbsDiff } : {}),
        floatMacsShare: floatShare(kept),
        met: meetsBudget(f, budget),
      }
      steps.push(s)
      return s
    }
    step("all int8", [], baseLoss, baseline)

    const measured: GroupSensitivity[] = []
    if (!meetsBudget(baseline, budget)) {
      const names = groups.map((g) => g.group)
      for (const g of groups) {
        let loss: number
        let f: HeldOutFidelity
        if (search.probe === "alone") {
          f = await evaluate(names.filter((x) => x !== g.group))
          loss = Math.max(0, 1 - f.mean)
        } else {
          f = await evaluate([g.group])
          loss = Math.max(0, baseLoss - (1 - f.mean))
        }
        measured.push({ group: g.group, layer: g.layer, role: g.role, nodes: g.nodes.length, macsPerToken: g.macsPerToken, loss, mean: f.mean, min: f.min, lossPerMmac: loss / Math.max(g.macsPerToken / 1e6, 1e-6) })
        options.log?.(`sensitivity: ${g.group} ${search.probe === "alone" ? "alone" : "kept float"} → ${describe(f)}`)
      }
    }
    const order = [...measured].sort((a, b) => b.lossPerMmac - a.lossPerMmac || b.loss - a.loss || a.group.localeCompare(b.group))
    const lossOf = new Map(measured.map((m) => [m.group, m.loss]))
    const sumLoss = (groupNames: Iterable<string>) => [...groupNames].reduce((s, g) => s + (lossOf.get(g) ?? 0), 0)

    // Greedy: keep groups in float in `order`; measure once the prediction meets the target, and
    // rescale the prediction to every measurement (group losses interact; their sum is a guide).
    let kept: string[] = []
    let best: { kept: string[]; f: HeldOutFidelity } | undefined = meetsBudget(baseline, budget) ? { kept: [], f: baseline } : undefined
    if (best === undefined) {
      const target = targetLoss(budget, baseline)
      let scale = sumLoss(lossOf.keys()) > 0 ? baseLoss / sumLoss(lossOf.keys()) : 1
      for (const g of order) {
        kept = [...kept, g.group]
        const remaining = order.filter((o) => !kept.includes(o.group)).map((o) => o.group)
        const predicted = scale * sumLoss(remaining)
        if (predicted > target && remaining.length > 0) continue
        if (remaining.length === 0) break
        const f = await evaluate(kept)
        const s = step("keep float", kept, predicted, f)
        options.log?.(`sensitivity: float [${kept.join(", ")}] → ${describe(f)}${s.met ? " (budget met)" : ""}`)
        if (s.met) {
          best = { kept, f }
          break
        }
        if (sumLoss(remaining) > 0) scale = (1 - f.mean) / sumLoss(remaining)
      }
    }
    // Prune: the costliest kept groups go back to int8 when the budget still holds without them.
    if (best !== undefined && best.kept.length > 0 && search.prune > 0) {
      const candidates = [...best.kept].sort((a, b) => byName.get(b)!.macsPerToken - byName.get(a)!.macsPerToken).slice(0, search.prune)
      for (const g of candidates) {
        const trial: string[] = best.kept.filter((x) => x !== g)
        const f = await evaluate(trial)
        const s = step("prune", trial, NaN, f)
        options.log?.(`sensitivity: back to int8 ${g} → ${describe(f)}${s.met ? " (still met)" : ""}`)
        if (s.met) best = { kept: trial, f }
      }
    }
    const met = best !== undefined
    const final = best?.kept ?? groups.map((g) => g.group)
    const rank = new Map(order.map((o, i) => [o.group, i + 1]))
    const keptFloat = final.map((group) => {
      const m = measured.find((x) => x.group === group)
      const loss = m?.loss ?? 0
      const what = search.probe === "alone" ? "quantized alone it costs" : "keeping it float saves"
      return {
        group,
        loss,
        macsPerToken: byName.get(group)!.macsPerToken,
        why: met
          ? `${what} ${loss.toExponential(2)} of mean ${metric} (${(m?.lossPerMmac ?? 0).toExponential(2)} per million MACs/token, rank ${rank.get(group)} of ${order.length}); the budget needed it in float`
          : `the budget ${JSON.stringify(budget)} was not met even with every group in float, so nothing is quantized`,
      }
    })
    const exclusions = excludeGroups(final, (g) => `exclude: "auto" (group ${g} kept in float)`)
    return {
      exclusions,
      fidelity: best?.f,
      record: {
        budget,
        metric,
        output: options.output,
        heldOutSamples: options.samples.length,
        unit: search.unit,
        probe: search.probe,
        groups: [...measured].sort((a, b) => b.loss - a.loss || a.group.localeCompare(b.group)),
        order: order.map((o) => o.group),
        steps,
        keptFloat,
        floatMacsShare: floatShare(final),
        met,
      },
    }
  }

  if (options.candidates === "rebuild") {
    let evaluation = 0
    // Each candidate is a whole model file (1.1 GB for a base-size XLM-R): delete it once measured.
    const rebuild = async (keptFloat: readonly string[]): Promise<HeldOutFidelity> => {
      const dir = join(options.tmpDir, `candidate-${evaluation++}`)
      try {
        const model = planner.build(activations, excludeGroups(keptFloat, () => "sensitivity probe")).model
        return await measureHeldOutFidelity(model, options.reference, options.samples, options.output, dir, options.threads, options.batch)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    return runSearch(rebuild)
  }
  const switchable = planner.buildSwitchable(activations, base, groups)
  const dir = join(options.tmpDir, "candidates-switchable")
  const started = performance.now()
  const flagsOf = (keptFloat: readonly string[]) => switchFlags(switchable, keptFloat)
  try {
    if (options.candidates === "switchable") {
      let runs = 0
      const result = await withHeldOutSession(
        switchable.model,
        [switchable.input],
        options.reference,
        options.samples,
        options.output,
        dir,
        (measure) => runSearch((keptFloat) => (runs++, measure({ [switchable.input]: new ort.Tensor("bool", flagsOf(keptFloat), [switchable.groups.length]) }))),
        options.threads,
        options.batch,
      )
      options.log?.(`sensitivity: ${runs} configurations measured in ${((performance.now() - started) / 1000).toFixed(1)} s, each a pass of the whole switchable model`)
      return result
    }
    // Layers are read off the original model's nodes (names, weights); the rewrite's own nodes follow their consumers.
    const original = new Set(planner.model.graph.nodes.map((n) => n.name))
    const weights = new Set(planner.model.graph.initializers.map((t) => t.name))
    let runs = 0
    let segmentsRun = 0
    let segmentsTotal = 0
    const result = await withSegmentedHeldOut(
      {
        model: switchable.model,
        switchInput: switchable.input,
        layerOf: (node) => (original.has(node.name) ? nodeLayerIndex(node, (x) => weights.has(x)) : undefined),
        reference: options.reference,
        samples: options.samples,
        output: options.output,
        dir,
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.batch !== undefined ? { batch: options.batch } : {}),
      },
      (measure) =>
        runSearch(async (keptFloat) => {
          const run = await measure(flagsOf(keptFloat))
          runs++
          segmentsRun += run.segments - run.from
          segmentsTotal += run.segments
          return run.fidelity
        }),
    )
    options.log?.(`sensitivity: ${runs} configurations measured in ${((performance.now() - started) / 1000).toFixed(1)} s through ${segmentsTotal / Math.max(runs, 1)} layer segments, ${segmentsRun} of ${segmentsTotal} segment runs needed (${((segmentsRun / Math.max(segmentsTotal, 1)) * 100).toFixed(0)}%; the rest reused from the configuration before)`)
    return result
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
