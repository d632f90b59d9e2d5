// Distributed execution against real servers: redis-server and nginx (the remote cache) on
// loopback, and `kiln worker` child processes with caches of their own. Steps run on the workers,
// artifacts travel only through the remote cache, and each action runs once across the cluster.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { cleanup, freshDirsPerTest, runCaptured, tempDir } from "../../../tests/support.ts"
import { type Pipeline, pipeline } from "../../engine/index.ts"
import { type Nginx, nginxUnavailable, startNginx } from "../../store/testing/nginx.ts"
import { runKiln } from "../../cli/kiln.ts"
import { queueStatus } from "./status.ts"
import { type Redis, redisUnavailable, startRedis } from "./testing/redis.ts"
import { concat, flaky, onDevice, shout, write } from "./testing/steps.ts"

const unavailable = redisUnavailable() ?? nginxUnavailable()
if (unavailable !== undefined) console.warn(`skipping the distributed-execution tests: ${unavailable}`)

const REPO = resolve(import.meta.dir, "../../..")
const KEY = "distributed-test-signing-key"
const fresh = freshDirsPerTest()

let nginx: Nginx
let nginxDir: string
beforeAll(async () => {
  if (unavailable !== undefined) return
  nginxDir = tempDir("kiln-dist-nginx-")
  nginx = await startNginx(nginxDir)
})
afterAll(async () => {
  if (unavailable === undefined) await nginx.stop()
  if (nginxDir !== undefined) cleanup(nginxDir)
})

interface WorkerProc {
  readonly name: string
  readonly proc: ReturnType<typeof Bun.spawn>
  output: string
}

/** One test's cluster: a fresh Redis, a fresh prefix on the shared nginx, workers started on demand. */
const cluster = async () => {
  const dir = fresh()
  const redis: Redis = await startRedis(join(dir, "redis"))
  const remote = `${nginx.url}/t${Math.random().toString(36).slice(2)}`
  const starts = join(dir, "starts.txt")
  writeFileSync(starts, "")
  const workers: WorkerProc[] = []
  const env = (extra: Record<string, string> = {}) => ({ KILN_CACHE_SIGNING_KEY: KEY, KILN_EXECUTOR_STARVED_AFTER: "30", ...extra })
  const startWorker = async (name: string, options: { resources?: string; concurrency?: number; root?: string; lockMs?: number } = {}): Promise<WorkerProc> => {
    const proc = Bun.spawn(
      [
        "bun", "run", join(REPO, "src/cli/kiln.ts"), "worker",
        "--queue", redis.url, "--remote-cache", remote, "--cache-dir", join(dir, `cache-${name}`), "--name", name,
        "--resources", options.resources ?? "cpu", "--concurrency", String(options.concurrency ?? 1),
        ...(options.root !== undefined ? ["--root", options.root] : []),
      ],
      { env: { ...process.env, KILN_CACHE_SIGNING_KEY: KEY, KILN_WORKER_LOCK_MS: String(options.lockMs ?? 30_000), KILN_TEST_STEP_STARTS: starts }, stdout: "pipe", stderr: "pipe" },
    )
    const w: WorkerProc = { name, proc, output: "" }
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) w.output += new TextDecoder().decode(chunk)
    }
    void pump(proc.stdout as ReadableStream<Uint8Array>)
    void pump(proc.stderr as ReadableStream<Uint8Array>)
    for (let i = 0; i < 600 && !w.output.includes(" serving "); i++) {
      if (proc.exitCode !== null) throw new Error(`worker ${name} exited: ${w.output}`)
      await Bun.sleep(50)
    }
    if (!w.output.includes(" serving ")) throw new Error(`worker ${name} did not start: ${w.output}`)
    workers.push(w)
    return w
  }
  const run = <K extends string>(p: Pipeline<K>, args: string[] = [], extraEnv: Record<string, string> = {}, options: { signal?: AbortSignal; cacheDir?: string } = {}) =>
    runCaptured(p, options.cacheDir ?? fresh(), ["--executor", redis.url, "--remote-cache", remote, ...args], { env: env(extraEnv), ...(options.signal !== undefined ? { signal: options.signal } : {}) })
  /** "write a 1234" lines: which process started which step. */
  const started = () => readFileSync(starts, "utf8").trim().split("\n").filter((l) => l !== "")
  const stop = async () => {
    for (const w of workers) {
      w.proc.kill("SIGTERM")
      await w.proc.exited
    }
    await redis.stop()
  }
  stops.push(stop)
  return { dir, redis, remote, startWorker, run, started, workers, starts }
}
const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

/** The run succeeded; on failure the assertion shows what the scheduler printed. */
const expectOk = (r: Awaited<ReturnType<typeof runCaptured>>) => expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" })

const hostOf = (r: Awaited<ReturnType<typeof runCaptured>>, id: string) => (r.json.steps.find((s) => s.id === id) as { host?: string } | undefined)?.host
const digests = (r: Awaited<ReturnType<typeof runCaptured>>) => Object.fromEntries(r.json.steps.map((s) => [s.id, s.outputs.out?.digest]))

/** Two independent branches joined at the end. */
const branches = (tag: string) => {
  const a = write({ text: `alpha-${tag}` }).as("a")
  const b = write({ text: `beta-${tag}` }).as("b")
  const sa = shout({}).as("sa").to(a)
  const sb = shout({ times: 2 }).as("sb").to(b)
  return pipeline("branches", sa).then(concat({}, { right: sb }).as("joined"))
}

describe.skipIf(unavailable !== undefined)("distributed execution: BullMQ on Redis, artifacts through the remote cache", () => {
  test("a pipeline with independent branches runs every step on the workers, with the same output digests as a local run", async () => {
    const c = await cluster()
    await c.startWorker("w1")
    await c.startWorker("w2")
    const r = await c.run(branches("same"))
    expectOk(r)
    expect(r.status).toEqual({ a: "ran", b: "ran", sa: "ran", sb: "ran", joined: "ran" })
    for (const id of ["a", "b", "sa", "sb", "joined"]) expect(["w1", "w2"]).toContain(hostOf(r, id)!)
    // Nothing ran in this process: every start was a worker's.
    expect(c.started().every((line) => !line.endsWith(` ${process.pid}`))).toBe(true)
    const local = await runCaptured(branches("same"), fresh())
    expect(local.code).toBe(0)
    expect(digests(r)).toEqual(digests(local))
    expect(readFileSync(join(r.json.steps.find((s) => s.id === "joined")!.outputs.out!.path, "text.txt"), "utf8")).toBe("ALPHA-SAME|BETA-SAMEBETA-SAME")
  }, 60_000)

  test("two schedulers running the same pipeline at once share the jobs: each action runs once", async () => {
    const c = await cluster()
    await c.startWorker("w1")
    await c.startWorker("w2")
    const [x, y] = await Promise.all([c.run(branches("twice")), c.run(branches("twice"))])
    expectOk(x)
    expectOk(y)
    expect(digests(x)).toEqual(digests(y))
    const perNode = new Map<string, number>()
    for (const line of c.started()) perNode.set(line.split(" ")[1]!, (perNode.get(line.split(" ")[1]!) ?? 0) + 1)
    expect(Object.fromEntries(perNode)).toEqual({ a: 1, b: 1, sa: 1, sb: 1, joined: 1 })
  }, 60_000)

  test("a worker killed (kill -9) mid-step: the stalled job goes to another worker, and the half-run leaves nothing in either cache", async () => {
    const c = await cluster()
    const victim = await c.startWorker("victim", { lockMs: 1_500 })
    const running = c.run(pipeline("slow", write({ text: "slow", sleepMs: 4_000 }).as("slow")))
    for (let i = 0; i < 400 && !c.started().some((l) => l.startsWith("write slow")); i++) await Bun.sleep(25)
    expect(c.started()).toEqual([`write slow ${victim.proc.pid}`])
    victim.proc.kill(9)
    await victim.proc.exited
    const rescuer = await c.startWorker("rescuer", { lockMs: 1_500 })
    const r = await running
    expectOk(r)
    expect(hostOf(r, "slow")).toBe("rescuer")
    expect(c.started()).toEqual([`write slow ${victim.proc.pid}`, `write slow ${rescuer.proc.pid}`])
    // The killed worker's cache holds no entry (and no output), the remote exactly the rescuer's.
    const victimEntries = Bun.spawnSync(["find", join(c.dir, "cache-victim"), "-path", "*ac.v1*", "-name", "*.json"]).stdout.toString().trim()
    expect(victimEntries).toBe("")
    const remoteEntries = Bun.spawnSync(["ls", join(nginx.root, new URL(c.remote).pathname, "ac")]).stdout.toString().trim().split("\n")
    expect(remoteEntries).toEqual([r.json.steps[0]!.key])
  }, 90_000)

  test("a worker with other code refuses the job, naming both code digests", async () => {
    const c = await cluster()
    // Another checkout: the same files, but the step module edited.
    const other = join(c.dir, "other")
    Bun.spawnSync(["mkdir", "-p", join(other, "src/executors/bullmq/testing")])
    for (const f of ["package.json", "bun.lock", "tsconfig.json", "node_modules"]) Bun.spawnSync(["ln", "-s", join(REPO, f), join(other, f)])
    for (const d of ["engine", "cache", "store", "schema", "cli"]) Bun.spawnSync(["ln", "-s", join(REPO, "src", d), join(other, "src", d)])
    const module = "src/executors/bullmq/testing/steps.ts"
    writeFileSync(join(other, module), readFileSync(join(REPO, module), "utf8") + "\n// edited on this worker\n")
    await c.startWorker("skewed", { root: other })
    const r = await c.run(pipeline("skew", write({ text: "skew" }).as("w")))
    expect(r.code).toBe(1)
    expect(r.status).toEqual({ w: "failed" })
    const message = r.json.steps[0]!.error!.message
    expect(message).toMatch(/worker skewed refuses the job: its code digest [0-9a-f]{16}… differs from the scheduler's [0-9a-f]{16}…/)
    expect(message).toContain(`code changed: ${module}`)
    expect(c.started()).toEqual([])
  }, 60_000)

  test("a device-class step only ever lands on a worker that advertises the device", async () => {
    const c = await cluster()
    await c.startWorker("cpu-only", { concurrency: 2 })
    await c.startWorker("with-card", { resources: "cpu,device:vacc" })
    const texts = ["p", "q", "r", "s"].map((t) => write({ text: t }).as(`text-${t}`))
    const devices = texts.map((n, i) => onDevice({}).as(`device-${i}`).to(n))
    const r = await c.run(pipeline("device", devices[0]!).also(...devices.slice(1)))
    expectOk(r)
    for (let i = 0; i < 4; i++) expect(hostOf(r, `device-${i}`)).toBe("with-card")
    const cpuHosts = new Set(texts.map((_, i) => hostOf(r, `text-${"pqrs"[i]}`)))
    expect([...cpuHosts].every((h) => h === "cpu-only" || h === "with-card")).toBe(true)
  }, 60_000)

  test("no worker for a resource class: the step fails after the timeout naming the starved class", async () => {
    const c = await cluster()
    await c.startWorker("cpu-only")
    const r = await c.run(pipeline("starved", write({ text: "t" }).as("t")).then(onDevice({}).as("needs-card")), [], { KILN_EXECUTOR_STARVED_AFTER: "3" })
    expect(r.code).toBe(1)
    expect(r.status).toEqual({ t: "ran", "needs-card": "failed" })
    const error = r.json.steps.find((s) => s.id === "needs-card")!.error as { message: string; hint?: string }
    expect(error.message).toContain('no worker serves the resource class "device:vacc"')
    expect(error.hint).toContain("--resources device:vacc")
  }, 60_000)

  test("a failing step is reported with the worker's host and log tail and is not retried; a transient one is retried until it passes", async () => {
    const c = await cluster()
    await c.startWorker("w1")
    const bad = await c.run(pipeline("bad", flaky({ transient: false, tag: "hard" }).as("hard")))
    expect(bad.code).toBe(1)
    const error = bad.json.steps[0]!.error as { message: string; logPath?: string; logTail?: string[] }
    expect(error.message).toContain("flaky failure on attempt 1")
    expect(error.message).toContain("(on worker w1)")
    expect(error.logTail).toContain("attempt 1")
    expect(readFileSync(join(c.dir, "flaky-hard"), "utf8")).toBe("x")
    expect(bad.stderr).toContain("| attempt 1")

    const good = await c.run(pipeline("good", flaky({ transient: true, passOn: 3, tag: "soft" }).as("soft")))
    expectOk(good)
    expect(hostOf(good, "soft")).toBe("w1")
    expect(readFileSync(join(c.dir, "flaky-soft"), "utf8")).toBe("xxx")
    const status = await queueStatus(c.redis.url)
    expect(status.failures.map((f) => [f.node, f.host])).toEqual([["hard", "w1"]])
    expect(status.workers).toEqual([{ name: "w1", resources: ["cpu"], running: [] }])
    let text = ""
    expect(await runKiln(["queue", "status", "--queue", c.redis.url], { write: (t: string) => (text += t) })).toBe(0)
    expect(text).toContain("cpu (kiln-cpu): 0 waiting, 0 delayed, 0 running, 1 done, 1 failed")
    expect(text).toContain("w1 — cpu; idle")
    expect(text).toMatch(/hard \(flaky\) on w1: .*flaky failure on attempt 1/)
  }, 60_000)

  test("Ctrl-C on a scheduler removes the jobs only it was waiting for; the other scheduler's run completes", async () => {
    const c = await cluster()
    // No worker yet: both schedulers' jobs wait.
    const shared = write({ text: "shared" }).as("shared")
    const mine = write({ text: "mine-only" }).as("mine")
    const controller = new AbortController()
    const waiting = async (n: number) => {
      let status = await queueStatus(c.redis.url)
      for (let i = 0; i < 400 && (status.classes[0]?.counts.waiting ?? 0) < n; i++) {
        await Bun.sleep(25)
        status = await queueStatus(c.redis.url)
      }
      return status
    }
    // The first scheduler waits for "shared" before the second arrives.
    const first = c.run(pipeline("first", shared))
    await waiting(1)
    const second = c.run(pipeline("second", shared).also(mine), [], {}, { signal: controller.signal })
    let status = await waiting(2)
    expect(status.classes.map((q) => [q.resource, q.counts.waiting])).toEqual([["cpu", 2]])
    controller.abort()
    expect((await second).code).toBe(130)
    status = await queueStatus(c.redis.url)
    expect(status.classes.map((q) => [q.resource, q.counts.waiting])).toEqual([["cpu", 1]])
    await c.startWorker("late")
    const r = await first
    expectOk(r)
    expect(hostOf(r, "shared")).toBe("late")
    expect(c.started().map((l) => l.split(" ")[1])).toEqual(["shared"])
  }, 60_000)

  test("Redis restarting mid-run (empty: no persistence): the lost job is queued again and the run completes", async () => {
    const c = await cluster()
    await c.startWorker("w1")
    const running = c.run(pipeline("restart", write({ text: "across a restart", sleepMs: 2_000 }).as("slow")).then(shout({}).as("after")))
    for (let i = 0; i < 400 && !c.started().some((l) => l.startsWith("write slow")); i++) await Bun.sleep(25)
    await c.redis.restart()
    const r = await running
    expectOk(r)
    expect(readFileSync(join(r.json.steps.find((s) => s.id === "after")!.outputs.out!.path, "text.txt"), "utf8")).toBe("ACROSS A RESTART")
    // The worker finished and uploaded the step before the restart lost its job: queued again, it is found on the remote cache.
    expect(c.started().filter((l) => l.startsWith("write slow")).length).toBe(1)
  }, 60_000)
})

describe("bad executor and worker arguments say what is wrong; nothing runs", () => {
  test("--executor without a remote cache, an unknown scheme, an unreachable queue", async () => {
    const p = pipeline("p", write({ text: "x" }).as("x"))
    const noRemote = await runCaptured(p, fresh(), ["--executor", "redis://127.0.0.1:9"], { env: {} })
    expect(noRemote.code).toBe(1)
    expect(noRemote.stderr).toContain("needs a remote cache: artifacts travel between this run and the workers only through it")
    const env = { KILN_CACHE_SIGNING_KEY: KEY }
    const scheme = await runCaptured(p, fresh(), ["--executor", "amqp://host", "--remote-cache", "http://127.0.0.1:9/c"], { env })
    expect(scheme.stderr).toContain('unsupported scheme "amqp" (supported: redis, rediss)')
    const down = await runCaptured(p, fresh(), ["--executor", "redis://127.0.0.1:9", "--remote-cache", "http://127.0.0.1:9/c"], { env })
    expect(down.code).toBe(1)
    expect(down.stderr).toContain("cannot reach the queue at redis://127.0.0.1:9")
    expect(down.stderr).not.toContain("    at ")
  }, 30_000)

  test("kiln worker without a queue, a remote cache or a signing key, or with a bad resource class", async () => {
    const run = async (argv: string[], env: Record<string, string | undefined>) => {
      let err = ""
      const { workerCli } = await import("./worker.ts")
      const code = await workerCli(argv, { write: () => true }, { write: (t: string) => (err += t) }, env)
      return { code, err }
    }
    expect(await run([], {})).toEqual({ code: 2, err: expect.stringContaining("--queue (missing): expected the Redis URL the schedulers use") })
    expect((await run(["--queue", "redis://h:6379"], {})).err).toContain("--remote-cache is required")
    expect((await run(["--queue", "redis://h:6379", "--remote-cache", "http://h/c"], {})).err).toContain("KILN_CACHE_SIGNING_KEY is not set")
    const bad = await run(["--queue", "redis://h:6379", "--remote-cache", "http://h/c", "--resources", "cpu,gpu"], { KILN_CACHE_SIGNING_KEY: "k" })
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('--resources: "gpu"')
    expect(bad.err).toContain("expected cpu, measure or device:<target>")
  })
})
