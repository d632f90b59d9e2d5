// A quantization sweep for bench/distributed.ts: a seeded bge-small-shaped BERT → ONNX export →
// calibration set, then eight independent dynamic-int8 quantizations (weights per channel / per
// tensor × attention quantized / float × standard / contrib ops) — eight single-thread steps
// that can run on different workers at once.
import { main } from "../../src/cli/index.ts"
import { pipeline } from "../../src/engine/index.ts"
import { calibrate, exportOnnx, quantize, synthCheckpoint, synthSts } from "../../stdlib/index.ts"

const exported = exportOnnx({ task: "embedding" }).to(synthCheckpoint({ arch: "bert", size: "bge-small", task: "embedding", seed: 11 }))
const calibration = calibrate({ samples: 32, seqlen: 32 }, { dataset: synthSts({ pairs: 64, seed: 11 }) }).to(exported)

export const SWEEP = (["per-channel", "per-tensor"] as const).flatMap((weights) =>
  (["quantize", "float"] as const).flatMap((attention) => (["onnx", "contrib"] as const).map((form) => ({ id: `q-${weights}-${attention}-${form}`, weights, attention, form }))),
)

export const quantizeSweep = pipeline("quantize-sweep", calibration).also(
  ...SWEEP.map((s) => quantize({ scheme: "dynamic-int8", weights: s.weights, attention: s.attention, form: s.form }, { calibration }).as(s.id).to(exported)),
)

export default main(import.meta, quantizeSweep)
