// Qwen3-Embedding end to end on one CPU, offline, on a synthetic tiny Qwen3 checkpoint (seeded
// weights, a byte-level BPE tokenizer in the Qwen2 format): export → compile (ORT) → deploy with
// Qwen3-Embedding's query instruction → evaluate on generated STS pairs, and fidelity of the
// compiled deployment against the plain export, both read from each deployment's embeddings of the
// pairs. The same chain as the BGE quickstart; only the
// checkpoint differs.
//   bun run examples/qwen3-embedding.ts            (a second run is served from the cache)
import { main } from "../src/cli/index.ts"
import { pipeline } from "../src/engine/index.ts"
import { qwen3QueryInstruction } from "../src/families/qwen3/index.ts"
import { compile, deploy, embed, evaluate, exportOnnx, fidelity, synthCheckpoint, synthSts } from "../stdlib/index.ts"

const checkpoint = synthCheckpoint({ arch: "qwen3", size: "tiny", task: "embedding", seed: 7 })
const pairs = synthSts({ pairs: 128, seed: 7 })
const exported = exportOnnx({ task: "embedding" }).to(checkpoint)
const instruction = qwen3QueryInstruction()
const reference = embed({}, { dataset: pairs }).as("embed-plain").to(deploy({ instruction }).as("deploy-plain").to(exported))

export const qwen3Embedding = pipeline("qwen3-embedding", exported)
  // Attention is exported as plain ONNX ops (GQA with q/k norms has no fused kernel here), so ORT's
  // Attention fusion is not expected; its RMSNorms still fuse with the residual adds.
  .then(compile({ target: "cpu", allowMissing: ["attention", "skip-layer-norm"] }))
  .then(deploy({ instruction }))
  .then(embed({}, { dataset: pairs }))
  .fork(evaluate({}, { dataset: pairs }), fidelity({ min: { cosine_mean: 0.9999 } }, { reference, dataset: pairs }))

export default main(import.meta, qwen3Embedding)
