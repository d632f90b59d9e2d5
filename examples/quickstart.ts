// Quickstart: the whole chain, offline, on a synthetic tiny XLM-R checkpoint:
// export → compile → deploy → evaluate on generated STS pairs → fidelity against the plain fp32
// export → bench, and beside it an int8 branch: calibrate → quantize → compile → deploy → the same
// checks. Prints one row per branch, and the path of the run's report (HTML with plots, Markdown, JSON).
//   --target cpu (default): ORT fusions, dynamic int8 on this CPU.
//   --target vacc: the device export ([1, 32] int32), vamc fp16 and int8 (vamc's quantize block),
//     vaststreamx for evaluation and fidelity, vamp for bench — on a VastAI card, or on kiln's
//     stand-ins: eval "$(bun run kiln doctor --stand-ins)" first.
//   --target auto: vacc when its toolchain and a die are found, else cpu.
//   bun run examples/quickstart.ts [--target cpu|vacc|auto]   (a second run is served from the cache)
// The --json summary's `runsOn` says which target each step ran on. Each target's chain keeps its
// own lock file: quickstart.lock.json (cpu), quickstart.vacc.lock.json.
import { mainWithInputs } from "../src/cli/index.ts"
import { pipeline } from "../src/engine/index.ts"
import { chooseTarget, deviceExportParams } from "../src/targets/index.ts"
import { bench, calibrate, compile, deploy, evaluate, exportOnnx, fidelity, printRunTable, quantize, runReport, synthCheckpoint, synthSts } from "../stdlib/index.ts"

const checkpoint = synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 7 })
const pairs = synthSts({ pairs: 256, seed: 7 })
const SEQLEN = 32

/** The quickstart for one target ("auto" is resolved here, so the chain matches what runs). */
export const quickstartFor = (asked: "cpu" | "vacc" | "auto") => {
  const target = chooseTarget(asked).target.name
  if (target === "cpu") return cpuQuickstart
  // The card takes a static [1, L] int32 model (src/targets/vacc/device-export.ts); its fp32
  // reference is the same export run by ONNX Runtime on this CPU.
  const exported = exportOnnx(deviceExportParams("embedding", SEQLEN)).to(checkpoint)
  const reference = deploy({}).as("deploy-fp32-plain").to(exported)
  const calibration = calibrate({ samples: 64, seqlen: SEQLEN }, { dataset: pairs }).to(exported)
  const on = { target } as const
  const checks = (suffix: string, minCosine: number) =>
    [
      evaluate(on, { dataset: pairs }).as(`evaluate${suffix}`),
      fidelity({ ...on, min: { cosine_mean: minCosine } }, { reference, dataset: pairs }).as(`fidelity${suffix}`),
      bench({ ...on, batch: [1, 16], seconds: 2 }, { dataset: pairs }).as(`bench${suffix}`),
    ] as const
  // int8 on the card is vamc's: the quantize step writes its quantize and dataset blocks.
  // Its own lock file (quickstart.vacc.lock.json): the cpu chain's stays as committed.
  const variant = { variant: target }
  const int8 = pipeline("quickstart", exported, variant)
    .then(quantize({ target: "vacc" }, { calibration }))
    .then(compile(on).as("compile-int8"))
    .then(deploy({}).as("deploy-int8"))
    .fork(...checks("-int8", 0.99))
  return pipeline("quickstart", exported, variant).then(compile(on)).then(deploy({})).fork(...checks("", 0.999)).also(...int8.ends)
}

const cpuQuickstart = (() => {
  const exported = exportOnnx({ task: "embedding" }).to(checkpoint)
  const reference = deploy({}).as("deploy-fp32-plain").to(exported)
  const calibration = calibrate({ samples: 64, seqlen: SEQLEN }, { dataset: pairs }).to(exported)
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
  return pipeline("quickstart", exported)
    .then(compile({ target: "cpu" }))
    .then(deploy({}))
    .fork(...checks("", 0.9999))
    .also(...int8.ends)
})()

/** The cpu quickstart (what `bun run examples/quickstart.ts` runs without flags). */
export const quickstart = cpuQuickstart

const inputs = {
  target: { flag: "target", type: "choice", choices: ["cpu", "vacc", "auto"], default: "cpu", description: "where the models run: cpu (ONNX Runtime here), vacc (a VastAI card, or kiln's stand-ins), auto" },
} as const

let onCard = false
/** The two branches, as the table and the report label them. */
const rows = () => [
  { label: onCard ? "fp16 (vamc)" : "fp32 (ORT-optimised)", evaluate: "evaluate", fidelity: "fidelity", bench: "bench" },
  { label: onCard ? "int8 (vamc)" : "int8 (dynamic)", evaluate: "evaluate-int8", fidelity: "fidelity-int8", bench: "bench-int8", quantize: "quantize" },
]
mainWithInputs(
  import.meta,
  inputs,
  (values) => {
    const p = quickstartFor(values.target as "cpu" | "vacc" | "auto")
    onCard = p !== cpuQuickstart
    return p
  },
  {
    afterRun: (result) => {
      console.log("")
      printRunTable(result, rows())
    },
    report: runReport(() => ({ title: `quickstart (${onCard ? "vacc" : "cpu"})`, rows: rows() })),
  },
)
