// BAAI/bge-small-zh-v1.5 (BERT, 512 wide, 4 layers): Chinese embeddings; evaluated on C-MTEB BQ.
// The chain and everything model-specific come from its preset (stdlib/presets/models.ts):
//   bun run pipelines/bge-small-zh-v1.5.ts [--precision fp32|fp16|int8] [--target cpu] [--model-dir DIR] [--revision REV] [run flags…]
// Without --model-dir the checkpoint comes from the Hugging Face cache, else the Hub (HF_TOKEN,
// HF_ENDPOINT, HF_HUB_OFFLINE as for huggingface_hub); --help lists every flag.
import { presetMain } from "../stdlib/index.ts"

presetMain(import.meta, "bge-small-zh-v1.5")
