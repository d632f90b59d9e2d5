// The files of a Hugging Face text-model repo that kiln's exporter reads: config, tokenizer, one
// copy of the weights (safetensors before PyTorch pickles, single file before shards) and
// top-level .pt heads (bge-m3's sparse_linear.pt and colbert_linear.pt). Never the ONNX exports,
// the other weight formats or the sentence-transformers folders a repo also carries.
import type { WantedFiles } from "./files.ts"

const TOKENIZER_EXTRAS = ["tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "sentencepiece.bpe.model", "spiece.model", "vocab.txt", "vocab.json", "merges.txt"]

export const checkpointFiles: readonly WantedFiles[] = [
  { what: "config", oneOf: [["config.json"]] },
  { what: "tokenizer", oneOf: [["tokenizer.json"]] },
  ...TOKENIZER_EXTRAS.map((file) => ({ what: file, oneOf: [[file]], optional: true })),
  {
    what: "weights",
    oneOf: [["model.safetensors"], ["model.safetensors.index.json", "model-*-of-*.safetensors"], ["pytorch_model.bin"], ["pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"]],
  },
  { what: "extra heads", oneOf: [["*.pt"]], optional: true },
]
