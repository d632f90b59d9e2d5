// BAAI/bge-m3 (XLM-R large, 8192 tokens): dense, sparse and ColBERT heads; evaluated on STS12.
// The chain and everything model-specific come from its preset (stdlib/presets/models.ts):
//   bun run pipelines/bge-m3.ts [--precision fp32|fp16|int8] [--target cpu|vacc|auto] [--model-dir DIR] [--revision REV] [run flags…]
// Without --model-dir the checkpoint comes from the Hugging Face cache, else the Hub (HF_TOKEN,
// HF_ENDPOINT, HF_HUB_OFFLINE as for huggingface_hub); --help lists every flag.
import { presetMain } from "../stdlib/index.ts"

presetMain(import.meta, "bge-m3")
