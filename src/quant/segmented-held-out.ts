// Held-out fidelity of a switchable model's configurations (switchable-int8.ts), run as a chain of
// layer segments (layer-segments.ts) that remembers the values crossing segment boundaries for the
// last configuration measured. A configuration whose flags agree with the last one on every switch
// read by segments 0 … k−1 starts at segment k from those stored values: the values entering a
// segment depend only on the token inputs and the switches of earlier segments, so a later
// configuration that agrees on those switches would compute the very same tensors. The search's
// probes of one group (everything else float) thus run only from about that group's layer on —
// on average half the model instead of all of it — and consecutive search steps share what they can.
// Every segment is its own ORT session, all opened once (together they hold the model's weights
// once); batches are the held-out batches of held-out-fidelity.ts. Against the whole switchable
// model: equal where ORT fuses alike in both (the synthetic bge-m3: no difference measured), else
// rounding-level (segmented-held-out.test.ts says when, and bounds it).

import { join } from "node:path"
import * as ort from "onnxruntime-node"
import type { CalibrationSample } from "../calibration/index.ts"
import { rmSync } from "node:fs"
import { writeModel, type Dim, type OnnxModel, type OnnxNode, type ValueInfo } from "../onnx/index.ts"
import { compareOutputs, HELD_OUT_BATCH, heldOutBatches, scatterRows, type HeldOutFidelity } from "./held-out-fidelity.ts"
import { splitAtLayers } from "./layer-segments.ts"
import { openSession } from "./ort-feeds.ts"

/** What one configuration's run did: segments run and skipped (reused), for logs and tests. */
export interface SegmentedRun {
  readonly fidelity: HeldOutFidelity
  /** Index of the first segment run (0: the whole chain; segments before it came from the last run). */
  readonly from: number
  readonly segments: number
}

/**
 * Splits `model` at layer boundaries and hands `body` a measure function: one configuration's flags
 * (one bool per switch of `switchInput`) → held-out fidelity against `reference`. Files and sessions
 * are gone when `body` settles.
 */
export const withSegmentedHeldOut = async <T>(
  options: {
    readonly model: OnnxModel
    readonly switchInput: string
    readonly layerOf: (node: OnnxNode) => number | undefined
    readonly reference: readonly Float32Array[]
    readonly samples: readonly CalibrationSample[]
    readonly output: string
    readonly dir: string
    readonly threads?: number
    readonly batch?: number
  },
  body: (measure: (flags: Uint8Array) => Promise<SegmentedRun>) => Promise<T>,
): Promise<T> => {
  const { model, switchInput, output, samples } = options
  const split = splitAtLayers(model, output, options.layerOf, switchInput)
  const segments = split.segments
  const tokens: ValueInfo[] = model.graph.inputs.filter((i) => i.name !== switchInput)
  const batches = heldOutBatches(tokens, samples, options.batch ?? HELD_OUT_BATCH)
  const sessions: (ort.InferenceSession | undefined)[] = segments.map(() => undefined)
  /** Per batch: every value crossing a boundary (and the output) as the last configuration computed it. */
  let stored: Map<string, ort.Tensor>[] = batches.map(() => new Map())
  let lastFlags: Uint8Array | undefined

  const session = async (i: number, values: ReadonlyMap<string, ort.Tensor>): Promise<ort.InferenceSession> => {
    const open = sessions[i]
    if (open !== undefined) return open
    // Built on first use: the types of its inputs are those of the tensors earlier segments produced,
    // their batch and sequence axes named like the token inputs' (fixed sizes stay fixed).
    const [rows, seq] = batches[0]!.feeds[tokens[0]!.name]!.dims
    const [batchDim, seqDim] = tokens[0]!.dims ?? []
    const dimsOf = (t: ort.Tensor): Dim[] => t.dims.map((v, d) => (d === 0 && v === rows && batchDim !== undefined ? batchDim : d > 0 && v === seq && seqDim !== undefined ? seqDim : v))
    const types = new Map(segments[i]!.inputs.filter((x) => values.has(x)).map((x) => [x, { dtype: values.get(x)!.type as ValueInfo["dtype"], dims: dimsOf(values.get(x)!) }]))
    const path = join(options.dir, `segment-${i}`, "model.onnx")
    await writeModel(split.build(i, types), path)
    // No spinning: the sessions run one after another, and idle ones spinning would take the cores.
    const created = await openSession(path, { spin: false, ...(options.threads !== undefined ? { threads: options.threads } : {}) })
    sessions[i] = created
    return created
  }

  const measure = async (flags: Uint8Array): Promise<SegmentedRun> => {
    const previous = lastFlags
    let from = 0
    if (previous !== undefined) {
      from = segments.findIndex((s) => s.switches.some((i) => flags[i] !== previous[i]))
      if (from === -1) from = segments.length
    }
    const switches = new ort.Tensor("bool", flags, [flags.length])
    const next: Map<string, ort.Tensor>[] = []
    const out: Float32Array[] = new Array(samples.length)
    for (const [b, batch] of batches.entries()) {
      const values = new Map(stored[b]!)
      for (let i = from; i < segments.length; i++) {
        const s = segments[i]!
        const feeds: Record<string, ort.Tensor> = {}
        for (const x of s.inputs) feeds[x] = x === switchInput ? switches : (batch.feeds[x] ?? values.get(x)!)
        const run = await (await session(i, values)).run(feeds, [...s.outputs])
        for (const x of s.outputs) values.set(x, run[x]!)
      }
      scatterRows(values.get(output)!.data as ArrayLike<number>, batch.rows, out)
      next.push(values)
    }
    stored = next
    lastFlags = Uint8Array.from(flags)
    return { fidelity: compareOutputs(options.reference, out), from, segments: segments.length }
  }

  try {
    return await body(measure)
  } finally {
    for (const s of sessions) await s?.release()
    rmSync(options.dir, { recursive: true, force: true })
  }
}
