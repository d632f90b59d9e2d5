// SmoothQuant-style smoothing (Xiao et al., 2022): move per-channel activation range into the weights
// so per-tensor activation quantization sees a flat range. For X·W with per-input-channel
// max |X_j| and max |W_j·|, s_j = max|X_j|^α / max|W_j·|^(1−α); W' = diag(s)·W and X' = X/s, so
// X'·W' = X·W exactly in real arithmetic. Every target reading X (the packed QKV of an Attention,
// or separate Q/K/V MatMuls) shares one s. X/s is a Mul by a constant 1/s inserted before the
// targets — unless X is a LayerNormalization output read by nothing else, where 1/s folds into γ
// and β. In post-LN BERT the LayerNorm output also feeds the residual Add, so there the Mul stays
// (folding would change the residual stream).

import { GraphEditor, opKey, tensorToFloat32, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/index.ts"
import { channelAbsMax, type ChannelRange } from "./channel-ranges.ts"
import { QuantError } from "./quant-error.ts"
import { findTargets, type AttentionTarget, type LinearTarget } from "./targets.ts"

/** One activation and every quantization target that reads it (they share one smoothing vector). */
export interface SmoothGroup {
  readonly activation: string
  /** Input channels (the K of every target's [K, N] weight). */
  readonly channels: number
  readonly targets: readonly (LinearTarget | AttentionTarget)[]
}

/** Where max |X_j| came from: observed on calibration samples, or estimated from the producing LayerNorm. */
export type SmoothSource = "calibration" | "layernorm"

export interface SmoothedActivation {
  readonly tensor: string
  readonly nodes: readonly string[]
  /** max over channels of max|X_j| divided by their median: how far the outliers stand out. */
  readonly spreadBefore: number
  /** The same for X/s. */
  readonly spreadAfter: number
  readonly scaleMin: number
  readonly scaleMax: number
  /** "mul": a Mul by 1/s before the targets; "layernorm": 1/s folded into the LayerNorm's γ and β; "none": shifted only. */
  readonly via: "mul" | "layernorm" | "none"
  /** Where the channel centres were folded in, or why they were not. */
  readonly shift: { readonly site: ShiftSite | null; readonly reason: string | null }
}

/** The constant a shift folds into: the producing LayerNorm's β, or the producing attention's V bias. */
export type ShiftSite = "layernorm" | "attention"

export interface SmoothRecord {
  readonly alpha: number
  readonly from: SmoothSource
  readonly minSpread: number
  /** Whether channel shifts were tried. */
  readonly shift: boolean
  /** Calibration samples the channel maxima were observed on (0 when estimated). */
  readonly samples: number
  readonly activations: readonly SmoothedActivation[]
  /** Activations left alone, and why. */
  readonly skipped: readonly { readonly tensor: string; readonly reason: string }[]
}

/** Groups the int8 candidates (MatMul/Gemm with constant weights, packed-QKV Attention) by the activation they read. */
export const smoothGroups = (model: OnnxModel): SmoothGroup[] => {
  const { targets } = findTargets(new GraphEditor(model))
  const byActivation = new Map<string, (LinearTarget | AttentionTarget)[]>()
  for (const t of targets) {
    if (t.kind === "gather") continue
    byActivation.set(t.activation, [...(byActivation.get(t.activation) ?? []), t])
  }
  return [...byActivation].map(([activation, ts]) => ({ activation, channels: ts[0]!.weight.k, targets: ts }))
}

const median = (values: Float32Array): number => {
  const sorted = Float32Array.from(values).sort()
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const spread = (values: Float32Array): number => {
  let max = 0
  for (const v of values) if (v > max) max = v
  const m = median(values)
  return m > 0 ? max / m : max > 0 ? Infinity : 1
}

const isTransposedGemm = (node: OnnxNode): boolean =>
  node.opType === "Gemm" && node.attributes.some((a) => a.name === "transB" && a.type === "int" && Number(a.value) !== 0)

/**
 * Estimated per-channel range of a LayerNormalization output from its constants: β_j ± k·|γ_j|, k
 * being the typical extreme of a normalized value. Undefined when X is not such an output.
 */
export const layerNormChannelEstimate = (model: OnnxModel, activation: string, channels: number, k = 4): ChannelRange | undefined => {
  const producer = model.graph.nodes.find((n) => n.outputs[0] === activation)
  if (producer === undefined || !["LayerNormalization", "com.microsoft:SkipLayerNormalization"].includes(opKey(producer))) return undefined
  const skip = producer.opType === "SkipLayerNormalization"
  const find = (name: string | undefined) => model.graph.initializers.find((t) => t.name === name)
  const gamma = find(producer.inputs[skip ? 2 : 1])
  const beta = find(producer.inputs[skip ? 3 : 2])
  const fits = (t: OnnxTensor | undefined) => t !== undefined && t.dtype === "float32" && t.dims.reduce((a, b) => a * b, 1) === channels
  if (!fits(gamma)) return undefined
  const g = tensorToFloat32(gamma!)
  const b = beta !== undefined && fits(beta) ? tensorToFloat32(beta) : new Float32Array(channels)
  return { min: Float32Array.from(g, (gj, j) => b[j]! - k * Math.abs(gj)), max: Float32Array.from(g, (gj, j) => b[j]! + k * Math.abs(gj)) }
}

const SCALE_LIMIT = 1e4

/** s_j for one group: max|X_j|^α / max|W_j·|^(1−α) over every target's weight, 1 where either is 0. */
export const smoothingScales = (activationMax: Float32Array, weightRowMax: Float32Array, alpha: number): Float32Array =>
  Float32Array.from(activationMax, (x, j) => {
    const w = weightRowMax[j]!
    if (!(x > 0) || !(w > 0)) return 1
    const s = x ** alpha / w ** (1 - alpha)
    return Number.isFinite(s) ? Math.min(SCALE_LIMIT, Math.max(1 / SCALE_LIMIT, s)) : 1
  })

const float32Tensor = (name: string, dims: readonly number[], values: Float32Array): OnnxTensor => ({
  name,
  dtype: "float32",
  dims,
  data: { kind: "bytes", bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) },
})

/**
 * Rewrites `model` so each group's activation is shifted by its channel centres z and divided by s,
 * its weights' rows multiplied by s: X' = (X − z)/s, W' = diag(s)·W, and z·W added to each target's
 * bias, so X'·W' + b' = X·W + b. `channelRange` gives each activation's per-channel min/max; groups
 * without one are skipped. The shift (Outlier Suppression+, Wei et al. 2023) centres channels that sit
 * at an offset — in BERT-style models the LayerNorm β holds outlier channels at ±M — so the
 * per-tensor range covers only their spread. It costs nothing at run time because it folds into
 * constants: a LayerNorm's β (the residual Add that also reads X gets z back through the bias of the
 * sublayer output beside it) or the V bias of the com.microsoft:Attention producing X (attention
 * weights sum to 1 over keys, so a V shift shifts the context). Where neither fits, X is not shifted.
 */
export const applySmoothing = (
  model: OnnxModel,
  groups: readonly SmoothGroup[],
  channelRange: (activation: string) => ChannelRange | undefined,
  options: {
    readonly alpha: number
    readonly from: SmoothSource
    readonly samples: number
    /** Scale only activations whose channel spread (max / median of the channels' half ranges) reaches this; default 1 (all). */
    readonly minSpread?: number
    /** Centre channels by folding a shift into constants where the graph allows it (default true). */
    readonly shift?: boolean
  },
): { model: OnnxModel; record: SmoothRecord } => {
  if (!(options.alpha > 0 && options.alpha < 1)) throw new QuantError("bad-option", "smooth.alpha", `must be in (0, 1), got ${options.alpha}`)
  const editor = new GraphEditor(model)
  const uses = new Map<string, number>()
  for (const n of model.graph.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1)
  const activations: SmoothedActivation[] = []
  const skipped: { tensor: string; reason: string }[] = []
  /** A float32 initializer of `size` values read by exactly one node input. */
  const constantOnce = (name: string | undefined, size: number): OnnxTensor | undefined => {
    const t = name === undefined || name === "" ? undefined : editor.initializer(name)
    return t !== undefined && t.dtype === "float32" && (uses.get(t.name) ?? 0) === 1 && t.dims.reduce((a, b) => a * b, 1) === size ? t : undefined
  }
  /** Adds `delta` (scaled by `sign`) to the current values of a float32 initializer, from `offset` on. */
  const addTo = (name: string, delta: Float32Array, sign: 1 | -1, offset = 0) => {
    const t = editor.initializer(name)!
    const values = tensorToFloat32(t).slice()
    for (let i = 0; i < delta.length; i++) values[offset + i]! += sign * delta[i]!
    editor.setInitializer(float32Tensor(t.name, t.dims, values), { replace: true })
  }

  /** Where a shift of the group's activation folds into constants, or why it cannot. */
  const shiftPlan = (group: SmoothGroup): { site: ShiftSite; apply: (z: Float32Array) => void } | string => {
    const K = group.channels
    const x = group.activation
    if (editor.isGraphOutput(x)) return "the activation is a graph output"
    const targetBiases: { name: string; weight: () => Float32Array; n: number }[] = []
    for (const t of group.targets) {
      const bias = t.kind === "attention" ? t.bias : t.bias?.name
      if (constantOnce(bias, t.weight.n) === undefined) return `${t.node.name || t.weight.name} has no constant bias of its own to take z·W`
      targetBiases.push({ name: bias!, weight: t.weight.data, n: t.weight.n })
    }
    const targetNodes = new Set(group.targets.map((t) => t.node))
    const others = editor.consumers(x).filter((n) => !targetNodes.has(n))
    const producer = editor.producer(x)
    const compensateTargets = (z: Float32Array) => {
      for (const b of targetBiases) {
        const w = b.weight()
        const zw = new Float32Array(b.n)
        for (let j = 0; j < K; j++) {
          const zj = z[j]!
          if (zj === 0) continue
          for (let c = 0; c < b.n; c++) zw[c]! += zj * w[j * b.n + c]!
        }
        addTo(b.name, zw, 1)
      }
    }
    if (producer?.opType === "LayerNormalization" && producer.domain === "") {
      const beta = constantOnce(producer.inputs[2], K)
      if (beta === undefined) return "its LayerNormalization has no constant β of its own"
      // Every other reader must be a residual Add whose other input is Add(…, bias): z goes back in there.
      const residualBiases: string[] = []
      for (const n of others) {
        const other = n.opType === "Add" && n.domain === "" && n.inputs.length === 2 ? n.inputs.find((i) => i !== x) : undefined
        const inner = other === undefined ? undefined : editor.producer(other)
        const bias = inner?.opType === "Add" && inner.domain === "" ? inner.inputs.find((i) => constantOnce(i, K) !== undefined) : undefined
        if (bias === undefined) return `${n.name || n.opType} also reads it and is not a residual Add beside a biased sublayer output`
        residualBiases.push(bias)
      }
      return {
        site: "layernorm",
        apply: (z) => {
          addTo(beta.name, z, -1)
          for (const b of residualBiases) addTo(b, z, 1)
          compensateTargets(z)
        },
      }
    }
    if (producer !== undefined && opKey(producer) === "com.microsoft:Attention" && producer.outputs[0] === x) {
      if (others.length > 0) return `${others[0]!.name || others[0]!.opType} also reads the attention output`
      if (producer.attributes.some((a) => a.name === "qkv_hidden_sizes")) return "the attention has unequal Q/K/V sizes"
      if (producer.inputs.length > 4 && producer.inputs.slice(4).some((i) => i !== "")) return "the attention has past or bias inputs beyond the mask"
      const bias = constantOnce(producer.inputs[2], 3 * K)
      if (bias === undefined) return "the attention has no constant packed bias of its own"
      return {
        site: "attention",
        apply: (z) => {
          addTo(bias.name, z, -1, 2 * K)
          compensateTargets(z)
        },
      }
    }
    return `produced by ${producer === undefined ? "a graph input" : opKey(producer)}, which cannot absorb a shift`
  }

  for (const group of groups) {
    const range = channelRange(group.activation)
    if (range === undefined) {
      skipped.push({ tensor: group.activation, reason: options.from === "layernorm" ? "not a LayerNormalization output with constant γ/β" : "no channel statistics" })
      continue
    }
    if (range.max.length !== group.channels || group.targets.some((t) => t.weight.k !== group.channels)) {
      skipped.push({ tensor: group.activation, reason: `channel counts disagree (activation ${range.max.length}, weights ${group.targets.map((t) => t.weight.k).join("/")})` })
      continue
    }
    const K = group.channels
    const plan = options.shift === false ? "shift: false" : shiftPlan(group)
    const shift = typeof plan === "string" ? undefined : plan
    const z = shift === undefined ? new Float32Array(K) : Float32Array.from(range.max, (hi, j) => (hi + range.min[j]!) / 2)
    // What X − z reaches per channel: the half range when centred, else max |X_j|.
    const xMax = shift === undefined ? channelAbsMax(range) : Float32Array.from(range.max, (hi, j) => (hi - range.min[j]!) / 2)
    const before = spread(channelAbsMax(range))
    const scaled = spread(xMax) >= (options.minSpread ?? 1)
    if (!scaled && shift === undefined) {
      // Without outlier channels there is nothing to migrate: smoothing would only move
      // quantization difficulty into weights that had none (measured: it costs accuracy).
      skipped.push({ tensor: group.activation, reason: `no outlier channels: spread ${before.toFixed(2)} < minSpread ${options.minSpread}; no shift (${plan})` })
      continue
    }
    // Bias compensation reads the weights before they are scaled.
    shift?.apply(z)
    const weights = group.targets.map((t) => ({ target: t, data: t.weight.data(), n: t.weight.n }))
    const wMax = new Float32Array(K)
    for (const { data, n } of weights)
      for (let j = 0; j < K; j++)
        for (let c = 0; c < n; c++) {
          const a = Math.abs(data[j * n + c]!)
          if (a > wMax[j]!) wMax[j] = a
        }
    const s = scaled ? smoothingScales(xMax, wMax, options.alpha) : new Float32Array(K).fill(1)

    let via: SmoothedActivation["via"] = "none"
    if (scaled) {
      // Each target node is rewritten once, with its new weight and activation inputs.
      const newInputs = new Map(group.targets.map((t) => [t.node, [...t.node.inputs]]))
      const timesUsedHere = (weight: string) => group.targets.filter((t) => t.weight.name === weight).length
      const done = new Set<string>()
      for (const { target, data, n } of weights) {
        // Weights: rows times s (stored transposed for Gemm transB: columns). One tensor read by several targets of the group is scaled once.
        const original = editor.initializer(target.weight.name)!
        if (done.has(original.name)) continue
        done.add(original.name)
        for (let j = 0; j < K; j++) for (let c = 0; c < n; c++) data[j * n + c]! *= s[j]!
        let stored = data
        if (target.kind === "linear" && isTransposedGemm(target.node)) {
          stored = new Float32Array(K * n)
          for (let j = 0; j < K; j++) for (let c = 0; c < n; c++) stored[c * K + j] = data[j * n + c]!
        }
        if ((uses.get(original.name) ?? 0) === timesUsedHere(original.name)) editor.setInitializer(float32Tensor(original.name, original.dims, stored), { replace: true })
        else {
          // Read elsewhere too (tied weights): the targets get a scaled copy.
          const copy = editor.addInitializer(`${original.name}_smoothed`, { dtype: "float32", dims: original.dims, data: float32Tensor("", [], stored).data })
          for (const t of group.targets) if (t.weight.name === original.name) newInputs.get(t.node)![1] = copy
        }
      }

      // Activation: fold 1/s into a LayerNorm read only by the targets, else a Mul before them.
      const producer = editor.producer(group.activation)
      const isLayerNorm = producer?.opType === "LayerNormalization" && producer.domain === ""
      const gamma = isLayerNorm ? constantOnce(producer.inputs[1], K) : undefined
      const beta = isLayerNorm && producer.inputs[2] ? constantOnce(producer.inputs[2], K) : undefined
      const readOnlyByTargets = (uses.get(group.activation) ?? 0) === group.targets.length && !editor.isGraphOutput(group.activation)
      const foldable = readOnlyByTargets && gamma !== undefined && (isLayerNorm && producer.inputs[2] ? beta !== undefined : true)
      if (foldable) {
        editor.setInitializer(float32Tensor(gamma!.name, gamma!.dims, tensorToFloat32(gamma!).map((v, j) => v / s[j]!)), { replace: true })
        if (beta !== undefined) editor.setInitializer(float32Tensor(beta.name, beta.dims, tensorToFloat32(beta).map((v, j) => v / s[j]!)), { replace: true })
        via = "layernorm"
      } else {
        const inverse = editor.addInitializer(`${group.activation}_smooth_inverse`, { dtype: "float32", dims: [K], data: float32Tensor("", [], s.map((v) => 1 / v)).data })
        const smoothed = editor.freshValue(`${group.activation}_smoothed`)
        const first = editor.nodes.find((n) => newInputs.has(n))!
        editor.insertBefore(first, [editor.makeNode("Mul", [group.activation, inverse], [smoothed], { name: `${group.activation}_smooth_Mul` })])
        for (const inputs of newInputs.values()) inputs[0] = smoothed
        via = "mul"
      }
      for (const [node, inputs] of newInputs) if (inputs.some((x, i) => x !== node.inputs[i])) editor.replace(node, [{ ...node, inputs }])
    }
    const after = Float32Array.from(xMax, (x, j) => x / s[j]!)
    activations.push({
      tensor: group.activation,
      nodes: group.targets.map((t) => t.node.name),
      spreadBefore: before,
      spreadAfter: spread(after),
      scaleMin: Math.min(...s),
      scaleMax: Math.max(...s),
      via,
      shift: shift === undefined ? { site: null, reason: plan as string } : { site: shift.site, reason: null },
    })
  }
  return {
    model: editor.build(),
    record: { alpha: options.alpha, from: options.from, minSpread: options.minSpread ?? 1, samples: options.samples, shift: options.shift !== false, activations, skipped },
  }
}
