// Quickstart: the whole local chain on one CPU, offline, on a synthetic tiny XLM-R checkpoint:
// export → compile (ORT fusions) → deploy → evaluate on generated STS pairs → fidelity against the
// plain fp32 export → bench, and beside it an int8 branch: calibrate → quantize (dynamic int8) →
// compile → deploy → the same checks. Prints one row per branch.
//   bun run examples/quickstart.ts            (a second run is served from the cache)
import { main } from "../src/cli/index.ts"
import { pipeline } from "../src/engine/index.ts"
import { bench, calibrate, compile, deploy, evaluate, exportOnnx, fidelity, printRunTable, quantize, synthCheckpoint, synthSts } from "../stdlib/index.ts"

const checkpoint = synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 7 })
const pairs = synthSts({ pairs: 256, seed: 7 })
const exported = exportOnnx({ task: "embedding" }).to(checkpoint)
const reference = deploy({}).as("deploy-fp32-plain").to(exported)
const calibration = calibrate({ samples: 64, seqlen: 32 }, { dataset: pairs }).to(exported)

const checks = (suffix: string, minCosine: number) =>
  [
    evaluate({}, { dataset: pairs }).as(`evaluate${suffix}`),
    fidelity({ min: { cosine_mean: minCosine } }, { reference, dataset: pairs }).as(`fidelity${suffix}`),
    bench({ batch: [1, 16], seconds: 2 }, { dataset: pairs }).as(`bench${suffix}`),
  ] as const

const int8 = pipeline("quickstart", exported)
  .then(quantize({ scheme: "dynamic-int8" }, { calibration }))
  .then(compile({ target: "cpu" }).as("compile-int8"))
  .then(deploy({}).as("deploy-int8"))
  .fork(...checks("-int8", 0.99))

export const quickstart = pipeline("quickstart", exported)
  .then(compile({ target: "cpu" }))
  .then(deploy({}))
  .fork(...checks("", 0.9999))
  .also(...int8.ends)

export default main(import.meta, quickstart, {
  afterRun: (result) => {
    console.log("")
    printRunTable(result, [
      { label: "fp32 (ORT-optimised)", evaluate: "evaluate", fidelity: "fidelity", bench: "bench" },
      { label: "int8 (dynamic)", evaluate: "evaluate-int8", fidelity: "fidelity-int8", bench: "bench-int8" },
    ])
  },
})
