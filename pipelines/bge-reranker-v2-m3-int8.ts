// BAAI/bge-reranker-v2-m3 in int8 on the local CPU: export (logits) → calibrate on sentence pairs →
// quantize (static int8, max calibration as the vendor used, layers kept in float by a sensitivity
// search) → compile → deploy → MAP/MRR@10 on reranking data and fidelity (Spearman of scores) against
// the fp32 deployment, gated → bench, fp32 beside int8.
//   bun run pipelines/bge-reranker-v2-m3-int8.ts --model-dir DIR --sts FILE --rerank FILE [run flags…]
import { mainWithInputs } from "../src/cli/index.ts"
import { local, pipeline } from "../src/engine/index.ts"
import { bench, calibrate, compile, deploy, evaluateRerank, exportOnnx, fidelity, quantize, rerankDataset, stsDataset } from "../stdlib/index.ts"

export const inputs = {
  modelDir: { flag: "model-dir", env: "KILN_MODEL_DIR", type: "dir", description: "the BAAI/bge-reranker-v2-m3 checkpoint folder (config.json, model.safetensors, tokenizer files)" },
  sts: { flag: "sts", env: "KILN_STS", type: "file", description: "sentence pairs for calibration and fidelity: STS JSON lines {sentence1, sentence2, score} or an STS-B .csv/.tsv file" },
  rerank: { flag: "rerank", env: "KILN_RERANK", type: "file", description: "reranking JSON lines: {query, pos[], neg[]} (FlagEmbedding) or {query, positive_passages, negative_passages} (msmarco)" },
} as const

export const bgeRerankerInt8 = (modelDir: string, stsFile: string, rerankFile: string, seqlen = 512) => {
  const pairs = stsDataset(stsFile, "sts")
  const queries = rerankDataset(rerankFile, "rerank")
  const exported = exportOnnx({ task: "reranker" }).to(local("hf-checkpoint", modelDir, "bge-reranker-v2-m3"))
  const fp32 = deploy({}).as("deploy-fp32").to(compile({ target: "cpu" }).as("compile-fp32").to(exported))
  const calibration = calibrate({ samples: 100, seqlen }, { dataset: pairs }).to(exported)
  return pipeline("bge-reranker-v2-m3-int8", exported)
    .then(quantize({ scheme: "static-int8", method: "max", exclude: "auto", budget: { spearman: 0.997 } }, { calibration }))
    .then(compile({ target: "cpu" }))
    .then(deploy({}))
    .fork(
      evaluateRerank({}, { dataset: queries }),
      fidelity({ min: { score_spearman: 0.995 } }, { reference: fp32, dataset: pairs }),
      bench({ batch: [1, 8], seconds: 10 }, { dataset: pairs }),
    )
    .also(evaluateRerank({}, { dataset: queries }).as("evaluate-fp32").to(fp32), bench({ batch: [1, 8], seconds: 10 }, { dataset: pairs }).as("bench-fp32").to(fp32))
}

mainWithInputs(import.meta, inputs, ({ modelDir, sts, rerank }) => bgeRerankerInt8(modelDir, sts, rerank))
