// Quickstart: the whole chain, offline, on a synthetic tiny XLM-R checkpoint:
// export → compile → deploy → embed generated STS pairs → evaluate, and fidelity against the plain
// fp32 export's embeddings → bench, and beside it an int8 branch: calibrate → quantize → compile →
// deploy → the same checks. Each deployment embeds the pairs once; evaluate and fidelity read those
// embeddings. Prints one row per branch, and the path of the run's report (HTML with plots, Markdown, JSON).
//   --target cpu (default): ORT fusions, dynamic int8 on this CPU.
//   --target vacc: the device export ([1, 32] int32), vamc fp16 and int8 (vamc's quantize block),
//     vaststreamx for evaluation and fidelity, vamp for bench — on a VastAI card, or on kiln's
//     stand-ins: eval "$(bun run kiln doctor --stand-ins)" first.
//   --target auto: vacc when its toolchain and a die are found, else cpu.
//   bun run examples/quickstart.ts [--target cpu|vacc|auto]   (a second run is served from the cache)
// The --json summary's `runsOn` says which target each step ran on. Each target's chain keeps its
// own lock file: quickstart.lock.json (cpu), quickstart.vacc.lock.json.
import { mainWithInputs } from "../src/cli/index.ts"
import { type Node, pipeline } from "../src/engine/index.ts"
import { chooseTarget, deviceExportParams } from "../src/targets/index.ts"
import { bench, calibrate, compile, deploy, embed, evaluate, exportOnnx, fidelity, printRunTable, quantize, runReport, synthCheckpoint, synthSts } from "../stdlib/index.ts"

const checkpoint = synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 7 })
const pairs = synthSts({ pairs: 256, seed: 7 })
const SEQLEN = 32

/** A deployment's checks: its embeddings of the pairs (on `target`), evaluated and held against the reference's; bench. */
const checksOf = (reference: Node<"embeddings">, target: "cpu" | "vacc") => (deployed: Node<"deployment">, suffix: string, minCosine: number) => {
  const on = target === "vacc" ? ({ target } as const) : {}
  const embedded = embed(on, { dataset: pairs }).as(`embed${suffix}`).to(deployed)
  return [
    evaluate({}, { dataset: pairs }).as(`evaluate${suffix}`).to(embedded),
    fidelity({ min: { cosine_mean: minCosine } }, { reference, dataset: pairs }).as(`fidelity${suffix}`).to(embedded),
    bench({ ...on, batch: [1, 16], seconds: 2 }, { dataset: pairs }).as(`bench${suffix}`).to(deployed),
  ]
}

/** The quickstart for one target ("auto" is resolved here, so the chain matches what runs). */
export const quickstartFor = (asked: "cpu" | "vacc" | "auto") => {
  const target = chooseTarget(asked).target.name
  if (target === "cpu") return cpuQuickstart
  // The card takes a static [1, L] int32 model (src/targets/vacc/device-export.ts); its fp32
  // reference is the same export run by ONNX Runtime on this CPU.
  const exported = exportOnnx(deviceExportParams("embedding", SEQLEN)).to(checkpoint)
  const reference = embed({}, { dataset: pairs }).as("embed-fp32-plain").to(deploy({}).as("deploy-fp32-plain").to(exported))
  const calibration = calibrate({ samples: 64, seqlen: SEQLEN }, { dataset: pairs }).to(exported)
  const on = { target } as const
  const checks = checksOf(reference, "vacc")
  // int8 on the card is vamc's: the quantize step writes its quantize and dataset blocks.
  // Its own lock file (quickstart.vacc.lock.json): the cpu chain's stays as committed.
  const int8 = deploy({}).as("deploy-int8").to(compile(on).as("compile-int8").to(quantize({ target: "vacc" }, { calibration }).to(exported)))
  const fp16 = pipeline("quickstart", exported, { variant: target }).then(compile(on)).then(deploy({}))
  return fp16.also(...checks(fp16.tail, "", 0.999), ...checks(int8, "-int8", 0.99))
}

const cpuQuickstart = (() => {
  const exported = exportOnnx({ task: "embedding" }).to(checkpoint)
  const reference = embed({}, { dataset: pairs }).as("embed-fp32-plain").to(deploy({}).as("deploy-fp32-plain").to(exported))
  const calibration = calibrate({ samples: 64, seqlen: SEQLEN }, { dataset: pairs }).to(exported)
  const checks = checksOf(reference, "cpu")
  const int8 = deploy({}).as("deploy-int8").to(compile({ target: "cpu" }).as("compile-int8").to(quantize({ scheme: "dynamic-int8" }, { calibration }).to(exported)))
  const fp32 = pipeline("quickstart", exported).then(compile({ target: "cpu" })).then(deploy({}))
  return fp32.also(...checks(fp32.tail, "", 0.9999), ...checks(int8, "-int8", 0.99))
})()

/** The cpu quickstart (what `bun run examples/quickstart.ts` runs without flags). */
export const quickstart = cpuQuickstart

const inputs = {
  target: { flag: "target", type: "choice", choices: ["cpu", "vacc", "auto"], default: "cpu", description: "where the models run: cpu (ONNX Runtime here), vacc (a VastAI card, or kiln's stand-ins), auto" },
} as const

let onCard = false
/** The two branches, as the table and the report label them. */
const rows = () => [
  { label: onCard ? "fp16 (vamc)" : "fp32 (ORT-optimised)", evaluate: "evaluate", embed: "embed", fidelity: "fidelity", bench: "bench" },
  { label: onCard ? "int8 (vamc)" : "int8 (dynamic)", evaluate: "evaluate-int8", embed: "embed-int8", fidelity: "fidelity-int8", bench: "bench-int8", quantize: "quantize" },
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
