// The headline command: BAAI/bge-reranker-v2-m3 in int8 on the local CPU — static int8 (max
// calibration, as the vendor used), layers kept in float by a sensitivity search, score fidelity
// gated against fp32, MS MARCO MAP measured vs the seed's published 0.5789 (fp32) / 0.4932 (int8).
// With --target vacc: vamc int8 (max calibration, the preset's exclude list), logits through
// vaststreamx, vamp throughput (lock: bge-reranker-v2-m3-int8.vacc.lock.json).
//   bun run pipelines/bge-reranker-v2-m3-int8.ts [--target cpu|vacc|auto] [--model-dir DIR] [run flags…]   (= bge-reranker-v2-m3.ts --precision int8)
import { presetMain } from "../stdlib/index.ts"

presetMain(import.meta, "bge-reranker-v2-m3", { precision: "int8" })
