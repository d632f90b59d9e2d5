// `kiln serve` on every registered target: the same tiny XLM-R embedder and reranker (device export,
// compile → deploy per target; vacc on kiln's stand-ins, which compute with ONNX Runtime and round
// to fp16) served over HTTP. Each server answers /embed, /v1/embeddings and /rerank with what the
// deployment itself computes (Embedder / Reranker over the target's session), the targets agree
// with each other, and shutdown releases the target's session: no runner process is left and the
// vacc dies are free again. Skips: the whole file without a Python with numpy (the stand-ins').
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { pipeline } from "../engine/index.ts"
import { closeDeployment, openDeployment } from "../evaluate/index.ts"
import { deploy, compile, exportOnnx, synthCheckpoint } from "../../stdlib/index.ts"
import { cleanup, runCaptured, tempDir, type CapturedRun } from "../../tests/support.ts"
import { deviceExportParams, openDeploymentSession, registeredTargets, standInPython } from "../targets/index.ts"
import { useStandIns, withEnv } from "../targets/testing/stand-in-env.ts"
import { startServer, type RunningServer } from "./index.ts"

const numpy = standInPython() !== null
if (!numpy) console.warn("serve on every target: no Python with numpy; the vacc stand-ins cannot run, so the suite is skipped")
useStandIns()
const names = registeredTargets.map((t) => t.name)
const tasks = ["embedding", "reranker"] as const
type Task = (typeof tasks)[number]

const texts = ["a short one", "a somewhat longer sentence with more tokens in it", "x", "the quick brown fox jumps over the lazy dog"]
const query = "which one is about a fox"

/** Processes whose parent is this one (the vacc runner is started as a direct child). */
const childProcesses = (): string[] => {
  const ps = Bun.spawnSync(["ps", "-o", "args=", "--ppid", String(process.pid)], { stdout: "pipe" })
  return ps.stdout.toString().split("\n").filter((l) => l.trim() !== "" && !l.startsWith("ps "))
}

const post = async (server: RunningServer, path: string, body: unknown): Promise<{ status: number; json: any }> => {
  const response = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  return { status: response.status, json: await response.json() }
}

const cosine = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, x, i) => sum + x * b[i]!, 0)

describe.skipIf(!numpy)("kiln serve on every registered target", () => {
  let dir = ""
  let run: CapturedRun
  const deploymentOf = (task: Task, target: string) => run.json.steps.find((s) => s.id === `deploy-${task}-${target}`)!.outputs.out!.path
  /** What each target's server answered, for comparing targets. */
  const served = new Map<string, { embeddings: number[][]; scores: number[] }>()

  beforeAll(async () => {
    dir = tempDir("kiln-serve-targets-")
    const ends = tasks.flatMap((task) => {
      const exported = exportOnnx(deviceExportParams(task, 32)).as(`export-${task}`).to(synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task, seed: 5 }).as(`ckpt-${task}`))
      return names.map((target) => deploy({}).as(`deploy-${task}-${target}`).to(compile({ target, ...(target === "cpu" ? { allowMissing: ["attention"] } : {}) }).as(`compile-${task}-${target}`).to(exported)))
    })
    const [first, ...rest] = ends
    run = await runCaptured(pipeline("serve-every-target", first!).also(...rest), dir)
    if (run.code !== 0) throw new Error(`the deployments' pipeline failed:\n${run.stderr}\n${run.stdout.slice(-4000)}`)
  }, 240_000)
  afterAll(() => cleanup(dir))

  describe.each(names)("target %s", (target) => {
    test("/embed and /v1/embeddings answer with the embeddings Embedder.embed gives over the target's own session", async () => {
      const deployment = deploymentOf("embedding", target)
      const direct = await openDeployment(deployment, { threads: 1 })
      let expected: number[][]
      try {
        if (direct.kind !== "embedder") throw new Error("not an embedder")
        const { dense } = await direct.embedder.embed(texts, { sparse: false, colbert: false })
        const hidden = dense.shape[1]!
        expected = texts.map((_, i) => Array.from(dense.data.subarray(i * hidden, (i + 1) * hidden)))
      } finally {
        await closeDeployment(direct)
      }
      const server = await startServer(deployment, { port: 0, threads: 1, accessLog: false })
      try {
        const info = (await (await fetch(`${server.url}/info`)).json()) as { task: string }
        expect(info.task).toBe("embedding")
        const tei = await post(server, "/embed", { inputs: texts })
        expect(tei.status).toBe(200)
        const openai = await post(server, "/v1/embeddings", { input: texts, model: "m" })
        expect(openai.status).toBe(200)
        const fromOpenAi = (openai.json.data as { index: number; embedding: number[] }[]).sort((a, b) => a.index - b.index).map((d) => d.embedding)
        for (const [i, row] of expected.entries()) {
          // Batched differently (the server batches by length across requests): equal to float precision.
          expect(cosine(tei.json[i], row)).toBeGreaterThan(0.99999)
          expect(cosine(fromOpenAi[i]!, row)).toBeGreaterThan(0.99999)
        }
        // A reranker route on an embedder is refused by name, on every target alike.
        const wrong = await post(server, "/rerank", { query, texts })
        expect(wrong.status).toBe(400)
        expect(wrong.json.error).toContain(`task "embedding"`)
        served.set(target, { embeddings: tei.json, scores: served.get(target)?.scores ?? [] })
      } finally {
        await server.shutdown()
      }
    }, 60_000)

    test("/rerank answers with the scores Reranker.score gives, in the request's order", async () => {
      const deployment = deploymentOf("reranker", target)
      const direct = await openDeployment(deployment, { threads: 1 })
      let expected: number[]
      try {
        if (direct.kind !== "reranker") throw new Error("not a reranker")
        expected = await direct.reranker.score(texts.map((t) => [query, t] as const))
      } finally {
        await closeDeployment(direct)
      }
      const server = await startServer(deployment, { port: 0, threads: 1, accessLog: false })
      try {
        const reply = await post(server, "/rerank", { query, texts, raw_scores: true })
        expect(reply.status).toBe(200)
        const byIndex = new Map((reply.json as { index: number; score: number }[]).map((r) => [r.index, r.score]))
        expect(byIndex.size).toBe(texts.length)
        expected.forEach((score, i) => expect(byIndex.get(i)!).toBeCloseTo(score, 4))
        served.set(target, { embeddings: served.get(target)?.embeddings ?? [], scores: expected.map((_, i) => byIndex.get(i)!) })
      } finally {
        await server.shutdown()
      }
    }, 60_000)

    test("shutdown releases the target's session: no runner process is left and every die can be taken again", async () => {
      const before = childProcesses()
      const servers = await Promise.all(tasks.map((task) => startServer(deploymentOf(task, target), { port: 0, threads: 1, accessLog: false })))
      // Each session has run (a runner that has answered, not just started).
      expect((await post(servers[0]!, "/embed", { inputs: texts })).status).toBe(200)
      expect((await post(servers[1]!, "/rerank", { query, texts })).status).toBe(200)
      await Promise.all(servers.map((s) => s.shutdown()))
      expect(childProcesses()).toEqual(before)
      // Every die free again: as many sessions at once as there were servers (vacc's stand-in has two dies).
      const sessions = await Promise.all(tasks.map((task) => openDeploymentSession(deploymentOf(task, target), { threads: 1 })))
      await Promise.all(sessions.map((s) => s.close()))
      expect(childProcesses()).toEqual(before)
    }, 60_000)
  })

  test.skipIf(!names.includes("vacc"))("vacc: a runner that does not answer cannot hold shutdown: after the drain timeout its batch fails, the runner is stopped", async () => {
    const before = childProcesses()
    const server = await withEnv({ KILN_STANDIN_RUN_DELAY_MS: "600000" }, () => startServer(deploymentOf("embedding", "vacc"), { port: 0, threads: 1, accessLog: false, drainTimeoutMs: 200 }))
    const reply = post(server, "/embed", { inputs: texts }).catch((e: Error) => ({ status: 0, json: e.message }))
    while (server.model.dense!.active === 0) await Bun.sleep(10)
    await server.shutdown()
    // The batch settled (it used to wait forever on the killed runner's reply), and so did the request.
    expect(server.model.dense!.active).toBe(0)
    expect([0, 503]).toContain((await reply).status)
    expect(childProcesses()).toEqual(before)
  }, 60_000)

  test("the targets' servers agree: embeddings cosine ≥ 0.999, reranker scores within 0.02", () => {
    const [reference, ...others] = names.map((t) => served.get(t)!)
    expect(reference!.embeddings.length).toBe(texts.length)
    for (const other of others) {
      other.embeddings.forEach((row, i) => expect(cosine(row, reference!.embeddings[i]!)).toBeGreaterThanOrEqual(0.999))
      other.scores.forEach((score, i) => expect(Math.abs(score - reference!.scores[i]!)).toBeLessThan(0.02))
    }
  })
})
