// The int8 graph rewrite shared by the dynamic and static passes: each target becomes the pattern
// ONNX Runtime turns into an integer kernel.
//   dynamic, "onnx":    DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scale) [→ Add bias]
//                       (ORT fuses all of it, bias included, into com.microsoft:DynamicQuantizeMatMul)
//   dynamic, "contrib": com.microsoft:DynamicQuantizeMatMul with the bias as its input
//   static (QDQ):       QuantizeLinear → DequantizeLinear on the activation, DequantizeLinear on the
//                       int8 weight → MatMul [→ Add bias]   (ORT: MatMulIntegerToFloat)
//   Attention:          com.microsoft:QAttention fed by DynamicQuantizeLinear or QuantizeLinear(uint8)
//   Gather (embedding): Gather over the int8 table, DequantizeLinear after it (not before, which
//                       would dequantize the whole table on every run)
// MatMulAddFusion trap (DESIGN.md §7): ORT's level-1 MatMulAddFusion turns MatMul + Add into Gemm
// before its QDQ fusions run, and a Gemm over DequantizeLinear inputs stays float. It only fires when
// the bias fits Gemm: a [N] or [1, N] bias for a 2-D activation (always), or a [N] bias for a higher
// rank activation whose shape is fully static (it reshapes to 2-D). In those cases the static pass
// writes the bias as [1, …, 1, N] of the activation's rank + 1 (2-D: then Squeeze), which Gemm
// cannot take, so the fusion skips the node. Elsewhere the bias stays [N] so BiasGelu and
// SkipLayerNormalization fusions still absorb it. The dynamic "onnx" pattern puts the Add after a
// Mul, which MatMulAddFusion never matches.
// Switchable (options.switchOf, for the sensitivity search): the float nodes stay, the int8 pattern
// writes fresh values, and Where(flag, int8, float) produces each original output, so one model
// evaluates any mix of int8 and float targets by its flag feeds.

import type { Attribute, GraphEditor, OnnxNode, OnnxTensor } from "../onnx/index.ts"
import type { QuantParams } from "./params.ts"
import type { GptqWeightRounder } from "./gptq.ts"
import type { AttentionTarget, GatherTarget, LinearTarget, QuantTarget } from "./targets.ts"
import { quantizeWeightColumns, type QuantizedWeight, type WeightGranularity } from "./weight-quant.ts"

export type ActivationMode =
  | { readonly kind: "dynamic"; readonly form: "onnx" | "contrib" }
  | {
      readonly kind: "static"
      /** Calibrated parameters of an activation tensor. */
      readonly params: (tensor: string) => QuantParams
      /** Rank of an activation tensor as observed in calibration (undefined if unknown). */
      readonly rank: (tensor: string) => number | undefined
      /** True when every graph input has fixed dims, so ORT knows every shape. */
      readonly staticShapes: boolean
    }

export interface Int8RewriteOptions {
  readonly weights: WeightGranularity
  readonly activations: ActivationMode
  /** Memo of quantized weights by weight name, shared across rewrites of the same model. */
  readonly weightCache?: Map<string, QuantizedWeight>
  /** Data-aware rounding of MatMul/Gemm/Attention weights (absent: nearest). Embedding tables always round to nearest. */
  readonly rounder?: GptqWeightRounder
  /**
   * A scalar bool value choosing int8 for a target: its float nodes are kept beside the int8 ones
   * and Where picks between them. Undefined for a target: replaced by its int8 pattern, as usual.
   */
  readonly switchOf?: (target: QuantTarget) => string | undefined
}

export interface QuantizedNode {
  readonly node: string
  readonly opType: string
  readonly as: string
  readonly layer: number | undefined
}

const bytesOf = (a: Float32Array | Int8Array | Uint8Array | BigInt64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
const tensorData = (a: Float32Array | Int8Array | Uint8Array | BigInt64Array): OnnxTensor["data"] => ({ kind: "bytes", bytes: bytesOf(a) })
const intAttr = (name: string, value: number): Attribute => ({ name, type: "int", value })

export const rewriteInt8 = (editor: GraphEditor, targets: readonly QuantTarget[], options: Int8RewriteOptions): QuantizedNode[] => {
  const cache = options.weightCache ?? new Map<string, QuantizedWeight>()
  const done: QuantizedNode[] = []
  const dynamicInputs = new Map<string, [string, string, string]>()
  const quantizedInputs = new Map<string, { q: string; scale: string; zeroPoint: string }>()

  /** `activation`: the input the weight multiplies, for data-aware rounding (undefined for embedding tables). */
  const weightOf = (name: string, rows: number, cols: number, data: () => Float32Array, granularity: WeightGranularity, activation?: string): QuantizedWeight => {
    const rounder = activation === undefined ? undefined : options.rounder
    // The same weight read by two activations is rounded against each one's Hessian.
    const key = rounder === undefined ? `${name}|${granularity}` : `${name}|${granularity}|gptq|${activation}`
    let w = cache.get(key)
    if (w === undefined) {
      const values = data()
      w = quantizeWeightColumns(values, rows, cols, granularity, name)
      if (rounder !== undefined) w = rounder.round(name, activation!, values, rows, cols, w)
      cache.set(key, w)
    }
    return w
  }
  /** Int8 weight, scale and zero-point initializers for a [rows, cols] weight. */
  const weightInitializers = (base: string, rows: number, cols: number, w: QuantizedWeight) => {
    const perChannel = w.scales.length > 1 || (cols === 1 && options.weights === "per-channel")
    const scaleDims = perChannel ? [cols] : []
    return {
      perChannel,
      q: editor.addInitializer(`${base}_quantized`, { dtype: "int8", dims: [rows, cols], data: tensorData(w.data) }),
      scale: editor.addInitializer(`${base}_scale`, { dtype: "float32", dims: scaleDims, data: tensorData(w.scales) }),
      zeroPoint: editor.addInitializer(`${base}_zero_point`, { dtype: "int8", dims: scaleDims, data: tensorData(new Int8Array(perChannel ? cols : 1)) }),
    }
  }

  const dynamicQuantize = (before: OnnxNode, x: string): [string, string, string] => {
    let outs = dynamicInputs.get(x)
    if (outs === undefined) {
      outs = [editor.freshValue(`${x}_quantized`), editor.freshValue(`${x}_scale`), editor.freshValue(`${x}_zero_point`)]
      editor.insertBefore(before, [editor.makeNode("DynamicQuantizeLinear", [x], outs, { name: `${x}_DynamicQuantizeLinear` })])
      dynamicInputs.set(x, outs)
    }
    return outs
  }
  /** Static Q (of the given type) for an activation, shared by its consumers. */
  const staticQuantize = (before: OnnxNode, x: string, given: QuantParams) => {
    // Symmetric int8 goes out as uint8 with zero point 128: the same grid, and what ORT's x86
    // kernels take (an int8 Q read by several MatMuls left them float in ORT 1.30).
    const params: QuantParams = given.type === "int8" ? { type: "uint8", scale: given.scale, zeroPoint: given.zeroPoint + 128 } : given
    const key = `${x}|${params.type}|${params.zeroPoint}`
    let q = quantizedInputs.get(key)
    if (q === undefined) {
      const scale = editor.addInitializer(`${x}_scale`, { dtype: "float32", dims: [], data: tensorData(Float32Array.of(params.scale)) })
      const zp = params.type === "uint8" ? Uint8Array.of(params.zeroPoint) : Int8Array.of(params.zeroPoint)
      const zeroPoint = editor.addInitializer(`${x}_zero_point`, { dtype: params.type, dims: [], data: tensorData(zp) })
      const out = editor.freshValue(`${x}_QuantizeLinear`)
      editor.insertBefore(before, [editor.makeNode("QuantizeLinear", [x, scale, zeroPoint], [out], { name: `${x}_QuantizeLinear` })])
      quantizedInputs.set(key, (q = { q: out, scale, zeroPoint }))
    }
    return q
  }
  /**
   * One QuantizeLinear per activation, one DequantizeLinear per consumer: ORT fuses a node unit only
   * when its DQ feeds it alone (observed: a DQ shared by Q, K and V MatMuls left them float with
   * int8 activations).
   */
  const qdq = (before: OnnxNode, x: string, params: QuantParams): string => {
    const q = staticQuantize(before, x, params)
    const out = editor.freshValue(`${x}_DequantizeLinear`)
    editor.insertBefore(before, [editor.makeNode("DequantizeLinear", [q.q, q.scale, q.zeroPoint], [out], { name: `${x}_DequantizeLinear` })])
    return out
  }

  /**
   * Keeps a target's float nodes and puts its int8 nodes beside them: `floatLast` (the node producing
   * the outputs) writes fresh "_float" values, and a Where per output chooses by `flag`.
   * `outputs` pairs each original output with the int8 value standing in for it.
   */
  const switchBetween = (anchor: OnnxNode, floatLast: OnnxNode, int8Nodes: readonly OnnxNode[], outputs: readonly (readonly [string, string])[], flag: string, path: string) => {
    const floatNames = new Map(outputs.map(([original]) => [original, editor.freshValue(`${original}_float`)]))
    const wheres = outputs.map(([original, int8]) => editor.makeNode("Where", [flag, int8, floatNames.get(original)!], [original], { name: `${path}_int8_switch` }))
    editor.insertBefore(anchor, int8Nodes)
    editor.replace(floatLast, [{ ...floatLast, outputs: floatLast.outputs.map((o) => floatNames.get(o) ?? o) }, ...wheres])
  }
  /** The name an int8 pattern writes for an original output: itself, or a fresh one when switched. */
  const int8Name = (flag: string | undefined, original: string): string => (flag === undefined || original === "" ? original : editor.freshValue(`${original}_int8`))

  const rewriteLinear = (t: LinearTarget) => {
    const base = t.weight.name
    const flag = options.switchOf?.(t)
    const output = int8Name(flag, t.output)
    const w = weightInitializers(base, t.weight.k, t.weight.n, weightOf(base, t.weight.k, t.weight.n, t.weight.data, options.weights, t.activation))
    const nodes: OnnxNode[] = []
    const path = t.node.name || base
    const mode = options.activations
    let as: string
    if (mode.kind === "dynamic" && mode.form === "contrib") {
      const bias = t.bias ? editor.addInitializer(`${base}_bias`, { dtype: "float32", dims: [t.weight.n], data: tensorData(t.bias.data()) }) : ""
      const x = t.activation
      nodes.push(editor.makeNode("DynamicQuantizeMatMul", [x, w.q, w.scale, w.zeroPoint, ...(bias ? [bias] : [])], [output], { name: `${path}_DynamicQuantizeMatMul`, domain: "com.microsoft" }))
      as = "com.microsoft:DynamicQuantizeMatMul"
    } else {
      let product: string
      const productName = t.bias ? editor.freshValue(`${path}_product`) : output
      if (mode.kind === "dynamic") {
        const [xq, xs, xz] = dynamicQuantize(t.node, t.activation)
        const integer = editor.freshValue(`${path}_MatMulInteger`)
        const asFloat = editor.freshValue(`${path}_Cast`)
        const scale = editor.freshValue(`${path}_scale`)
        nodes.push(
          editor.makeNode("MatMulInteger", [xq, w.q, xz, w.zeroPoint], [integer], { name: `${path}_MatMulInteger` }),
          editor.makeNode("Cast", [integer], [asFloat], { name: `${path}_Cast`, attributes: [intAttr("to", 1)] }),
          editor.makeNode("Mul", [xs, w.scale], [scale], { name: `${path}_scale_Mul` }),
          editor.makeNode("Mul", [asFloat, scale], [productName], { name: `${path}_Mul` }),
        )
        as = "DynamicQuantizeLinear+MatMulInteger"
      } else {
        const x = qdq(t.node, t.activation, mode.params(t.activation))
        const wdq = editor.freshValue(`${base}_DequantizeLinear`)
        nodes.push(
          editor.makeNode("DequantizeLinear", [w.q, w.scale, w.zeroPoint], [wdq], { name: `${base}_DequantizeLinear`, attributes: w.perChannel ? [intAttr("axis", 1)] : [] }),
          editor.makeNode("MatMul", [x, wdq], [productName], { name: `${path}_MatMul` }),
        )
        as = "QDQ MatMul"
      }
      product = productName
      if (t.bias) {
        const rank = mode.kind === "static" ? (mode.rank(t.activation) ?? (t.node.opType === "Gemm" ? 2 : undefined)) : undefined
        // See the MatMulAddFusion note at the top of this file.
        const trapped = mode.kind === "static" && rank !== undefined && (rank === 2 || mode.staticShapes)
        // Rank r ≥ 3 → [1]×(r−1) + [N] keeps the output rank; rank 2 → [1, 1, N], squeezed back below.
        const biasDims = trapped ? [...new Array<number>(rank === 2 ? 2 : rank! - 1).fill(1), t.weight.n] : [t.weight.n]
        const bias = editor.addInitializer(`${base}_bias`, { dtype: "float32", dims: biasDims, data: tensorData(t.bias.data()) })
        if (trapped && rank === 2) {
          const widened = editor.freshValue(`${path}_biased`)
          const axes = editor.addInitializer(`${path}_squeeze_axes`, { dtype: "int64", dims: [1], data: tensorData(BigInt64Array.of(0n)) })
          nodes.push(
            editor.makeNode("Add", [product, bias], [widened], { name: `${path}_bias_Add` }),
            editor.makeNode("Squeeze", [widened, axes], [output], { name: `${path}_bias_Squeeze` }),
          )
        } else nodes.push(editor.makeNode("Add", [product, bias], [output], { name: `${path}_bias_Add` }))
      }
    }
    if (flag !== undefined) {
      // The float path keeps its MatMul + Add; the Where produces the Add's output.
      switchBetween(t.node, t.bias?.add ?? t.node, nodes, [[t.output, output]], flag, path)
    } else {
      editor.replace(t.node, nodes)
      if (t.bias?.add) editor.replace(t.bias.add, [])
    }
    done.push({ node: t.node.name, opType: t.node.opType, as, layer: t.layer })
  }

  const rewriteAttention = (t: AttentionTarget) => {
    const base = t.weight.name
    const w = weightInitializers(base, t.weight.k, t.weight.n, weightOf(base, t.weight.k, t.weight.n, t.weight.data, options.weights, t.activation))
    const mode = options.activations
    let x: { q: string; scale: string; zeroPoint: string }
    if (mode.kind === "dynamic") {
      const [q, scale, zeroPoint] = dynamicQuantize(t.node, t.activation)
      x = { q, scale, zeroPoint }
    } else {
      x = staticQuantize(t.node, t.activation, mode.params(t.activation))
    }
    const attributes = t.node.attributes
    const flag = options.switchOf?.(t)
    const outputs = t.node.outputs.map((o) => [o, int8Name(flag, o)] as const)
    const node = editor.makeNode("QAttention", [x.q, w.q, t.bias, x.scale, w.scale, t.mask ?? "", x.zeroPoint, w.zeroPoint], outputs.map(([, q]) => q), {
      name: `${t.node.name || base}_QAttention`,
      domain: "com.microsoft",
      attributes,
    })
    if (flag !== undefined) switchBetween(t.node, t.node, [node], outputs.filter(([o]) => o !== ""), flag, t.node.name || base)
    else editor.replace(t.node, [node])
    done.push({ node: t.node.name, opType: "com.microsoft:Attention", as: "com.microsoft:QAttention", layer: t.layer })
  }

  const rewriteGather = (t: GatherTarget) => {
    const base = t.table.name
    // Per hidden channel (column), so outlier channels get their own scale.
    const w = weightInitializers(base, t.table.rows, t.table.cols, weightOf(base, t.table.rows, t.table.cols, t.table.data, options.weights))
    const gathered = editor.freshValue(`${t.node.outputs[0]}_quantized`)
    const flag = options.switchOf?.(t)
    const outputs = t.node.outputs.map((o) => [o, int8Name(flag, o)] as const)
    const nodes = [
      editor.makeNode("Gather", [w.q, ...t.node.inputs.slice(1)], [gathered], { name: `${t.node.name || base}_quantized`, attributes: t.node.attributes }),
      editor.makeNode("DequantizeLinear", [gathered, w.scale, w.zeroPoint], outputs.map(([, q]) => q), {
        name: `${t.node.name || base}_DequantizeLinear`,
        attributes: w.perChannel ? [intAttr("axis", -1)] : [],
      }),
    ]
    if (flag !== undefined) switchBetween(t.node, t.node, nodes, outputs, flag, t.node.name || base)
    else editor.replace(t.node, nodes)
    done.push({ node: t.node.name, opType: "Gather", as: "int8 Gather + DequantizeLinear", layer: t.layer })
  }

  for (const t of targets) {
    if (t.kind === "linear") rewriteLinear(t)
    else if (t.kind === "attention") rewriteAttention(t)
    else rewriteGather(t)
  }
  return done
}
