// Static calibration's data pass: run the float model in ONNX Runtime over calibration samples with
// the activations to quantize added as extra graph outputs (in a temporary copy), and stream each
// into an ActivationCalibrator — real tokens only when asked, so padding does not skew ranges.
// An aborted `signal` stops the pass before the next sample (it throws the signal's AbortError).

import { join } from "node:path"
import type { CalibrationSample } from "../calibration/index.ts"
import { writeModel, type OnnxModel } from "../onnx/index.ts"
import { sampleFeeds, withSession } from "./ort-feeds.ts"

/** What a data pass feeds: ActivationCalibrator (ranges) or ChannelRanges (per-channel min/max). */
export interface ActivationObserver {
  observe(tensor: string, data: Float32Array, dims: readonly number[]): void
  /** Awaited after every sample: lets an observer hand buffered work to an asynchronous engine. */
  settle?(): Promise<void>
}

export interface CollectedActivations {
  /** Rank of each tensor as observed. */
  readonly ranks: Map<string, number>
  readonly samples: number
}

export const collectActivations = async (
  model: OnnxModel,
  tensors: readonly string[],
  samples: readonly CalibrationSample[],
  calibrator: ActivationObserver,
  options: { readonly tmpDir: string; readonly ignorePadding: boolean; readonly threads?: number; readonly signal?: AbortSignal },
): Promise<CollectedActivations> => {
  const existing = new Set(model.graph.outputs.map((o) => o.name))
  const probe: OnnxModel = {
    ...model,
    graph: {
      ...model.graph,
      outputs: [...model.graph.outputs, ...tensors.filter((t) => !existing.has(t)).map((name) => ({ name, dtype: "float32" as const, dims: undefined }))],
    },
  }
  const path = join(options.tmpDir, "calibration-probe", "model.onnx")
  await writeModel(probe, path)
  const ranks = new Map<string, number>()
  await withSession(
    path,
    async (session) => {
      for (const [i, sample] of samples.entries()) {
        options.signal?.throwIfAborted()
        const { feeds, seq, length } = sampleFeeds(model.graph.inputs, sample, `calibration sample ${i}`)
        const results = await session.run(feeds, [...tensors])
        for (const name of tensors) {
          const tensor = results[name]!
          const data = tensor.data as Float32Array
          ranks.set(name, tensor.dims.length)
          // [1, seq, …] activations: keep the rows of real tokens.
          const perToken = tensor.dims.length >= 3 && tensor.dims[0] === 1 && tensor.dims[1] === seq && length < seq
          const trim = options.ignorePadding && perToken
          calibrator.observe(name, trim ? data.subarray(0, (data.length / seq) * length) : data, trim ? [1, length, ...tensor.dims.slice(2)] : tensor.dims)
        }
        await calibrator.settle?.()
      }
    },
    options.threads !== undefined ? { threads: options.threads } : {},
  )
  return { ranks, samples: samples.length }
}
