// BAAI/bge-small-en-v1.5 on the local CPU: export → compile (ORT fusions; only the CLS embedding is
// kept, so the last layer runs on the first token alone) → deploy (with the English
// query instruction) → evaluate on STS → fidelity of the optimised model against the plain fp32
// export, gated → bench.
//   bun run pipelines/bge-small-en-v1.5.ts --model-dir DIR --sts FILE.jsonl [run flags…]
// DIR holds the Hugging Face files (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json), e.g. `huggingface-cli download BAAI/bge-small-en-v1.5 --local-dir DIR`.
// FILE is STS JSON lines {sentence1, sentence2, score} (e.g. mteb/sts12-sts test split) or an STS-B .csv.
import { mainWithInputs } from "../src/cli/index.ts"
import { local, pipeline } from "../src/engine/index.ts"
import { bgeEnglishQueryInstruction } from "../src/tokenize/index.ts"
import { bench, compile, deploy, evaluate, exportOnnx, fidelity, stsDataset } from "../stdlib/index.ts"

export const inputs = {
  modelDir: { flag: "model-dir", env: "KILN_MODEL_DIR", type: "dir", description: "the BAAI/bge-small-en-v1.5 checkpoint folder (config.json, model.safetensors, tokenizer files)" },
  sts: { flag: "sts", env: "KILN_STS", type: "file", description: "STS pairs as JSON lines {sentence1, sentence2, score}, or an STS-B .csv/.tsv file" },
} as const

export const bgeSmallEn = (modelDir: string, stsFile: string) => {
  const pairs = stsDataset(stsFile, "sts")
  const exported = exportOnnx({ task: "embedding" }).to(local("hf-checkpoint", modelDir, "bge-small-en-v1.5"))
  const reference = deploy({ instruction: bgeEnglishQueryInstruction }).as("deploy-fp32-plain").to(exported)
  return pipeline("bge-small-en-v1.5", exported)
    .then(compile({ target: "cpu", outputs: ["sentence_embedding"] }))
    .then(deploy({ instruction: bgeEnglishQueryInstruction }))
    .fork(
      evaluate({}, { dataset: pairs }),
      fidelity({ min: { cosine_mean: 0.9999, cosine_min: 0.999 }, maxDrop: { cosine_spearman: 0.001 } }, { reference, dataset: pairs }),
      bench({ batch: [1, 8, 32], seconds: 5 }, { dataset: pairs }),
    )
}

mainWithInputs(import.meta, inputs, ({ modelDir, sts }) => bgeSmallEn(modelDir, sts))
