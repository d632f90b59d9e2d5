// A bge-small-shaped pipeline for bench/remote-cache.ts: a seeded BERT checkpoint with bge-small-en's
// shapes (12 layers, hidden 384: ~130 MB of fp32 weights) → ONNX export → compile (ORT fusions) →
// deployment. Offline; its artifacts are the sizes a real bge-small run moves through a cache.
import { main } from "../../src/cli/index.ts"
import { pipeline } from "../../src/engine/index.ts"
import { compile, deploy, exportOnnx, synthCheckpoint } from "../../stdlib/index.ts"

export const bgeSmallShaped = pipeline("bge-small-shaped", synthCheckpoint({ arch: "bert", size: "bge-small", task: "embedding", seed: 11 }))
  .then(exportOnnx({ task: "embedding" }))
  .then(compile({ target: "cpu" }))
  .then(deploy({}))

export default main(import.meta, bgeSmallShaped)
