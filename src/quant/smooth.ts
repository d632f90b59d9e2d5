// SmoothQuant-style smoothing (Xiao et al., 2022): move per-channel activation range into the weights
// so per-tensor activation quantization sees a flat range. For X·W with per-input-channel
// max |X_j| and max |W_j·|, s_j = max|X_j|^α / max|W_j·|^(1−α); W' = diag(s)·W and X' = X/s, so
// X'·W' = X·W exactly in real arithmetic. Every target reading X (the packed QKV of an Attention,
// or separate Q/K/V MatMuls) shares one s. X/s is a Mul by a constant 1/s inserted before the
// targets — unless X is a LayerNormalization output read by nothing else, where 1/s folds into γ
// and β. In post-LN BERT the LayerNorm output also feeds the residual Add, so there the Mul stays
// (folding would change the residual stream).

import { opKey, tensorToFloat32, type OnnxModel, type OnnxNode, type OnnxTensor } from "../onnx/index.ts"
import { GraphEditor } from "./graph-editor.ts"
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
  /** "mul": a Mul by 1/s before the targets; "layernorm": 1/s folded into the LayerNorm's γ and β. */
  readonly via: "mul" | "layernorm"
}

export interface SmoothRecord {
  readonly alpha: number
  readonly from: SmoothSource
  readonly minSpread: number
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
 * Estimated max |X_j| of a LayerNormalization output from its constants: |β_j| + k·|γ_j|, k being
 * the typical extreme of a normalized value. Undefined when X is not such an output.
 */
export const layerNormChannelEstimate = (model: OnnxModel, activation: string, channels: number, k = 4): Float32Array | undefined => {
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
  return Float32Array.from(g, (gj, j) => Math.abs(b[j]!) + k * Math.abs(gj))
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
 * Rewrites `model` so each group's activation is divided by s and its weights' rows multiplied
 * by s. `channelMax` gives max |X_j| per group activation; groups without one are skipped.
 */
export const applySmoothing = (
  model: OnnxModel,
  groups: readonly SmoothGroup[],
  channelMax: (activation: string) => Float32Array | undefined,
  options: {
    readonly alpha: number
    readonly from: SmoothSource
    readonly samples: number
    /** Smooth only activations whose channel spread (max / median of max|X_j|) reaches this; default 1 (all). */
    readonly minSpread?: number
  },
): { model: OnnxModel; record: SmoothRecord } => {
  if (!(options.alpha > 0 && options.alpha < 1)) throw new QuantError("bad-option", "smooth.alpha", `must be in (0, 1), got ${options.alpha}`)
  const editor = new GraphEditor(model)
  const uses = new Map<string, number>()
  for (const n of model.graph.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1)
  const activations: SmoothedActivation[] = []
  const skipped: { tensor: string; reason: string }[] = []

  for (const group of groups) {
    const xMax = channelMax(group.activation)
    if (xMax === undefined) {
      skipped.push({ tensor: group.activation, reason: options.from === "layernorm" ? "not a LayerNormalization output with constant γ/β" : "no channel statistics" })
      continue
    }
    if (xMax.length !== group.channels || group.targets.some((t) => t.weight.k !== group.channels)) {
      skipped.push({ tensor: group.activation, reason: `channel counts disagree (activation ${xMax.length}, weights ${group.targets.map((t) => t.weight.k).join("/")})` })
      continue
    }
    const before = spread(xMax)
    if (before < (options.minSpread ?? 1)) {
      // Without outlier channels there is nothing to migrate: smoothing would only move
      // quantization difficulty into weights that had none (measured: it costs accuracy).
      skipped.push({ tensor: group.activation, reason: `no outlier channels: spread ${before.toFixed(2)} < minSpread ${options.minSpread}` })
      continue
    }
    const K = group.channels
    const weights = group.targets.map((t) => ({ target: t, data: t.weight.data(), n: t.weight.n }))
    const wMax = new Float32Array(K)
    for (const { data, n } of weights)
      for (let j = 0; j < K; j++)
        for (let c = 0; c < n; c++) {
          const a = Math.abs(data[j * n + c]!)
          if (a > wMax[j]!) wMax[j] = a
        }
    const s = smoothingScales(xMax, wMax, options.alpha)

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
    const gamma = isLayerNorm ? editor.initializer(producer.inputs[1] ?? "") : undefined
    const beta = isLayerNorm && producer.inputs[2] ? editor.initializer(producer.inputs[2]) : undefined
    const readOnlyByTargets = (uses.get(group.activation) ?? 0) === group.targets.length && !editor.isGraphOutput(group.activation)
    const constantOnce = (t: OnnxTensor | undefined) => t !== undefined && t.dtype === "float32" && (uses.get(t.name) ?? 0) === 1 && t.dims.reduce((a, b) => a * b, 1) === K
    const foldable = readOnlyByTargets && constantOnce(gamma) && (isLayerNorm && producer.inputs[2] ? constantOnce(beta) : true)
    let via: SmoothedActivation["via"]
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
    const after = Float32Array.from(xMax, (x, j) => x / s[j]!)
    activations.push({
      tensor: group.activation,
      nodes: group.targets.map((t) => t.node.name),
      spreadBefore: before,
      spreadAfter: spread(after),
      scaleMin: Math.min(...s),
      scaleMax: Math.max(...s),
      via,
    })
  }
  return {
    model: editor.build(),
    record: { alpha: options.alpha, from: options.from, minSpread: options.minSpread ?? 1, samples: options.samples, activations, skipped },
  }
}
