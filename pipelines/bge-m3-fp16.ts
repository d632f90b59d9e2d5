// The seed's fp16 flow on a VastAI card: BAAI/bge-m3's dense embedding exported for the device,
// vamc fp16 at seqlens 512, 2048, 4096 and 8192 (each batch runs on the smallest that holds it),
// STS12 through vaststreamx vs the seed's published 0.78740, fidelity against the same export on
// ONNX Runtime, vamp throughput. Without a card: eval "$(bun run kiln doctor --stand-ins)" first.
//   bun run pipelines/bge-m3-fp16.ts [--target vacc|cpu|auto] [--model-dir DIR] [run flags…]   (= bge-m3.ts --precision fp16 --target vacc)
import { presetMain } from "../stdlib/index.ts"

presetMain(import.meta, "bge-m3", { precision: "fp16", target: "vacc" })
