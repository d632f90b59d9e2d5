// Quickstart: the whole local chain on one CPU, offline, on a synthetic tiny XLM-R checkpoint:
// export → compile (ORT fusions) → deploy → evaluate on generated STS pairs → fidelity of the
// optimised deployment against the plain fp32 export → bench. Prints a short table.
//   bun run examples/quickstart.ts            (a second run is served from the cache)
import { executePipeline } from "../src/cli/index.ts"
import { pipeline } from "../src/engine/index.ts"
import { bench, compile, deploy, evaluate, exportOnnx, fidelity, printRunTable, synthCheckpoint, synthSts } from "../stdlib/index.ts"

const checkpoint = synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 7 })
const pairs = synthSts({ pairs: 256, seed: 7 })
const exported = exportOnnx({ task: "embedding" }).to(checkpoint)
const reference = deploy({}).as("deploy-fp32-plain").to(exported)

export const quickstart = pipeline("quickstart", checkpoint)
  .then(exportOnnx({ task: "embedding" }))
  .then(compile({ target: "cpu" }))
  .then(deploy({}))
  .fork(
    evaluate({}, { dataset: pairs }),
    fidelity({ min: { cosine_mean: 0.9999 } }, { reference, dataset: pairs }),
    bench({ batch: [1, 16], seconds: 2 }, { dataset: pairs }),
  )

export default quickstart

if (import.meta.main) {
  const result = await executePipeline(quickstart, import.meta.path, process.argv.slice(2))
  if (result.exitCode === 0 && !process.argv.includes("--json") && !process.argv.includes("--dry-run")) {
    console.log("")
    printRunTable(result, [{ label: "fp32 (ORT-optimised)", evaluate: "evaluate", fidelity: "fidelity", bench: "bench" }])
  }
  process.exit(result.exitCode)
}
