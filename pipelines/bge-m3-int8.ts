// BAAI/bge-m3 in int8 on the local CPU — the headline pipeline:
// export (m3 heads: dense, sparse, colbert) → calibrate → quantize (static int8, percentile, layers
// kept in float by a sensitivity search until mean cosine ≥ 0.999) → compile → deploy →
// evaluate on STS → fidelity against the fp32 deployment, gated → bench, fp32 beside int8.
//   bun run pipelines/bge-m3-int8.ts --model-dir DIR --sts FILE [run flags…]
// DIR: `huggingface-cli download BAAI/bge-m3 --local-dir DIR` (pytorch_model.bin, sparse_linear.pt,
// colbert_linear.pt, tokenizer files). FILE: STS JSON lines (e.g. mteb/sts12-sts test) or STS-B .csv.
import { mainWithInputs } from "../src/cli/index.ts"
import { local, pipeline } from "../src/engine/index.ts"
import { bench, calibrate, compile, deploy, evaluate, exportOnnx, fidelity, quantize, stsDataset } from "../stdlib/index.ts"

export const inputs = {
  modelDir: { flag: "model-dir", env: "KILN_MODEL_DIR", type: "dir", description: "the BAAI/bge-m3 checkpoint folder (config.json, pytorch_model.bin, sparse_linear.pt, colbert_linear.pt, tokenizer files)" },
  sts: { flag: "sts", env: "KILN_STS", type: "file", description: "STS pairs as JSON lines {sentence1, sentence2, score} (e.g. mteb/sts12-sts), or an STS-B .csv/.tsv file" },
} as const

export const bgeM3Int8 = (modelDir: string, stsFile: string, seqlen = 512) => {
  const pairs = stsDataset(stsFile, "sts")
  const exported = exportOnnx({ task: "m3" }).to(local("hf-checkpoint", modelDir, "bge-m3"))
  const fp32 = deploy({}).as("deploy-fp32").to(compile({ target: "cpu" }).as("compile-fp32").to(exported))
  const calibration = calibrate({ samples: 100, seqlen }, { dataset: pairs }).to(exported)
  return pipeline("bge-m3-int8", exported)
    .then(quantize({ scheme: "static-int8", method: "percentile", exclude: "auto", budget: { meanCosine: 0.999 } }, { calibration }))
    .then(compile({ target: "cpu" }))
    .then(deploy({}))
    .fork(
      evaluate({}, { dataset: pairs }),
      fidelity({ min: { cosine_mean: 0.999 }, maxDrop: { cosine_spearman: 0.005 } }, { reference: fp32, dataset: pairs }),
      bench({ batch: [1, 8], seconds: 10 }, { dataset: pairs }),
    )
    .also(evaluate({}, { dataset: pairs }).as("evaluate-fp32").to(fp32), bench({ batch: [1, 8], seconds: 10 }, { dataset: pairs }).as("bench-fp32").to(fp32))
}

mainWithInputs(import.meta, inputs, ({ modelDir, sts }) => bgeM3Int8(modelDir, sts))
