// One conformance suite for every registered target: the same pipeline (tiny XLM-R embedder and
// reranker, device export, compile → deploy → evaluate → bench) through cpu and vacc — vacc on
// kiln's stand-ins, which compute with ONNX Runtime and round outputs to fp16. Both must give eval
// and bench reports of the same schema, embeddings with cosine ≥ 0.999 to each other, and the same
// errors for the same bad input. Skips: none.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { pipeline } from "../engine/index.ts"
import { closeDeployment, openDeployment, type Deployment } from "../evaluate/index.ts"
import { Reranker } from "../runtime/index.ts"
import { bench, compile, deploy, embed, evaluate, exportOnnx, synthCheckpoint, synthSts } from "../../stdlib/index.ts"
import { cleanup, runCaptured, tempDir, type CapturedRun } from "../../tests/support.ts"
import { BenchReport, deviceExportParams, registeredTargets, standInPython } from "./index.ts"
import { useStandIns } from "./testing/stand-in-env.ts"

// The stand-in vaststreamx module needs numpy (Debian's python3-numpy, which .ci/run installs).
const numpy = standInPython() !== null
if (!numpy) console.warn("conformance: no Python with numpy; the vacc stand-ins cannot run, so the suite is skipped")
useStandIns()
const names = registeredTargets.map((t) => t.name)
const pairs = synthSts({ pairs: 48, seed: 3 })

const exports = Object.fromEntries(
  (["embedding", "reranker"] as const).map((task) => [task, exportOnnx(deviceExportParams(task, 32)).as(`export-${task}`).to(synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task, seed: 5 }).as(`ckpt-${task}`))]),
)

const branch = (task: "embedding" | "reranker", target: string) => {
  const exported = exports[task]!
  const deployed = deploy({}).as(`deploy-${task}-${target}`).to(compile({ target, ...(target === "cpu" ? { allowMissing: ["attention"] } : {}) }).as(`compile-${task}-${target}`).to(exported))
  const embedded = embed({ target }, { dataset: pairs }).as(`embed-${task}-${target}`).to(deployed)
  return pipeline("conformance", deployed)
    .fork(bench({ target, batch: [1], iterations: 3, seconds: 5 }, { dataset: pairs }).as(`bench-${task}-${target}`))
    .also(evaluate({}, { dataset: pairs }).as(`evaluate-${task}-${target}`).to(embedded))
}

describe.skipIf(!numpy)("every registered target", () => {
  let dir = ""
  let run: CapturedRun
  const output = (id: string, file: string) => JSON.parse(readFileSync(join(run.json.steps.find((s) => s.id === id)!.outputs.out!.path, file), "utf8"))
  const deploymentOf = (task: string, target: string) => run.json.steps.find((s) => s.id === `deploy-${task}-${target}`)!.outputs.out!.path

  beforeAll(async () => {
    dir = tempDir("kiln-conformance-")
    const [first, ...rest] = names.flatMap((t) => [branch("embedding", t), branch("reranker", t)])
    run = await runCaptured(first!.also(...rest.flatMap((p) => p.ends)), dir)
    if (run.code !== 0) throw new Error(`conformance pipeline failed:\n${run.stderr}\n${run.stdout.slice(-4000)}`)
  }, 240_000)
  afterAll(() => cleanup(dir))

  const open = async <A>(dirs: string[], use: (ds: Deployment[]) => Promise<A>): Promise<A> => {
    const opened: Deployment[] = []
    try {
      for (const d of dirs) opened.push(await openDeployment(d, { threads: 1 }))
      return await use(opened)
    } finally {
      for (const d of opened) await closeDeployment(d)
    }
  }

  describe.each(["embedding", "reranker"] as const)("%s on every target", (task) => {
    test("eval reports have the same metrics, with close values", () => {
      const [reference, ...others] = names.map((t) => output(`evaluate-${task}-${t}`, "eval.json"))
      for (const other of others) {
        expect(Object.keys(other.metrics).sort()).toEqual(Object.keys(reference.metrics).sort())
        expect(other.kind).toBe(reference.kind)
        expect(Math.abs(other.metrics.main_score - reference.metrics.main_score)).toBeLessThan(0.01)
      }
    })

    test("bench reports follow the one schema and say which target measured", () => {
      for (const t of names) {
        const report = BenchReport.parse(output(`bench-${task}-${t}`, "bench.json"))
        expect(report.target).toBe(t)
        expect(report.configs.map((c) => c.batch)).toEqual([1])
      }
    })
  })

  test("embeddings of the same texts agree across targets: cosine ≥ 0.999", async () => {
    const texts = ["a short one", "a somewhat longer sentence with more tokens in it", "x"]
    const vectors = await open(
      names.map((t) => deploymentOf("embedding", t)),
      (ds) => Promise.all(ds.map((d) => (d.kind === "embedder" ? d.embedder.embed(texts, { batchSize: 2 }) : Promise.reject(new Error("not an embedder"))))),
    )
    const [reference, ...others] = vectors
    const hidden = reference!.dense.shape[1]!
    for (const other of others) {
      for (let i = 0; i < texts.length; i++) {
        const a = reference!.dense.data.subarray(i * hidden, (i + 1) * hidden)
        const b = other.dense.data.subarray(i * hidden, (i + 1) * hidden)
        let dot = 0
        for (let k = 0; k < hidden; k++) dot += a[k]! * b[k]!
        expect(dot).toBeGreaterThanOrEqual(0.999)
      }
    }
  }, 60_000)

  test("reranker scores of the same pairs agree across targets", async () => {
    const pairsIn = [["q one", "a passage"], ["another query", "an unrelated passage about something else"]] as const
    const scores = await open(names.map((t) => deploymentOf("reranker", t)), (ds) => Promise.all(ds.map((d) => (d.kind === "reranker" ? d.reranker.score(pairsIn) : Promise.reject(new Error("not a reranker"))))))
    const [reference, ...others] = scores
    for (const other of others) other.forEach((s, i) => expect(Math.abs(s - reference![i]!)).toBeLessThan(0.02))
  }, 60_000)

  test("the same bad input gives the same error on every target", async () => {
    const messages = await open(
      names.map((t) => deploymentOf("embedding", t)),
      (ds) =>
        Promise.all(
          ds.map(async (d) => {
            const errors: string[] = []
            if (d.kind !== "embedder") throw new Error("not an embedder")
            await d.embedder.embed([]).catch((e: Error) => errors.push(e.message))
            // A reranker over an embedding deployment's session is refused the same way.
            await Reranker.fromSession(d.embedder.bundle).catch((e: Error) => errors.push(e.message.replace(d.dir, "<dir>").replace(/^\/\S+: /, "<dir>: ")))
            return errors
          }),
        ),
    )
    for (const m of messages) expect(m).toEqual(messages[0]!)
    expect(messages[0]!.length).toBe(2)
  }, 60_000)
})
