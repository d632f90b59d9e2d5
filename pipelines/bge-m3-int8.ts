// The headline command: BAAI/bge-m3 in int8 on the local CPU — static int8 (percentile), layers kept
// in float by a sensitivity search until mean cosine ≥ 0.999, fidelity gated against fp32, STS12
// measured vs the seed's published 0.78735 (fp32) / 0.78722 (accelerator int8).
// With --target vacc: the seed's device flow — vamc int8 with the preset's mixed-precision exclude
// list at seqlen 512, evaluation through vaststreamx, vamp throughput (lock: bge-m3-int8.vacc.lock.json).
//   bun run pipelines/bge-m3-int8.ts [--target cpu|vacc|auto] [--model-dir DIR] [run flags…]   (the same as pipelines/bge-m3.ts --precision int8)
import { presetMain } from "../stdlib/index.ts"

presetMain(import.meta, "bge-m3", { precision: "int8" })
