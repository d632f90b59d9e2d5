// `kiln serve` as a process: it serves a deployment folder, logs each request as a JSON line, and on
// SIGTERM refuses new connections, finishes the request in flight and exits 0. `pipeline.ts#node`
// runs the pipeline up to that deploy node and serves its output; other nodes are refused by name.
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { targetNames } from "../targets/index.ts"
import { resolveDeployment, ServeError } from "./index.ts"
import { writeServedBundle } from "./testing/served-fixture.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-serve-cli-"))
afterAll(() => rm(root, { recursive: true, force: true }))
const project = resolve(import.meta.dir, "../..")

/** Reads a stream line by line, resolving `waitFor(pattern)` once a line matches. */
const lines = (stream: ReadableStream<Uint8Array>) => {
  const seen: string[] = []
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = []
  void (async () => {
    let buffered = ""
    for await (const chunk of stream) {
      buffered += new TextDecoder().decode(chunk)
      let newline
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        seen.push(line)
        for (const w of waiters.filter((w) => w.pattern.test(line))) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(line)
        }
      }
    }
  })()
  return {
    seen,
    waitFor: (pattern: RegExp) => new Promise<string>((resolve) => {
      const found = seen.find((l) => pattern.test(l))
      if (found !== undefined) resolve(found)
      else waiters.push({ pattern, resolve })
    }),
  }
}

describe("kiln serve process", () => {
  test("SIGTERM drains: new connections are refused, the request in flight is answered, the process exits 0; each request is a JSON log line", async () => {
    const bundle = await writeServedBundle(root, "embedding")
    const child = Bun.spawn(["bun", "run", join(project, "src/cli/kiln.ts"), "serve", bundle, "--port", "0", "--threads", "1"], { stdout: "pipe", stderr: "pipe" })
    const out = lines(child.stdout)
    const err = lines(child.stderr)
    try {
      const url = (await out.waitFor(/listening on /)).split("listening on ")[1]!.trim()
      const port = Number(new URL(url).port)
      expect((await fetch(`${url}/health`)).status).toBe(200)

      // A request whose body is half sent when SIGTERM arrives.
      const body = JSON.stringify({ inputs: ["the quick brown fox", "a lazy dog"] })
      let reply = ""
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, d) => void (reply += d.toString()) } })
      socket.write(`POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`)
      await Bun.sleep(100)
      child.kill("SIGTERM")
      await out.waitFor(/SIGTERM: draining/)
      await Bun.sleep(100)
      const refused = await fetch(`${url}/health`).then(
        (r) => r.status,
        () => "refused",
      )
      expect(["refused", 503]).toContain(refused)
      socket.write(body.slice(10))
      expect(await child.exited).toBe(0)
      socket.end()
      expect(reply).toStartWith("HTTP/1.1 200")
      expect(reply).toContain("[[")
      await out.waitFor(/kiln serve: stopped/)
      const log = err.seen.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(log.find((entry) => entry.path === "/embed")).toMatchObject({ method: "POST", status: 200, items: 2, remote: "127.0.0.1" })
      expect(typeof log[0]!.time).toBe("string")
      expect(typeof log[0]!.ms).toBe("number")
    } finally {
      child.kill("SIGKILL")
    }
  }, 30_000)

  test("bad flags and a folder that is not a deployment exit non-zero with a message", async () => {
    const run = (args: string[]) => Bun.spawnSync(["bun", "run", join(project, "src/cli/kiln.ts"), "serve", ...args], { stdout: "pipe", stderr: "pipe" })
    const badFlag = run(["x", "--max-items", "-3"])
    expect(badFlag.exitCode).toBe(2)
    expect(badFlag.stderr.toString()).toContain("--max-items")
    const notDeployment = run([root])
    expect(notDeployment.exitCode).toBe(1)
    // Names the folder and what was expected: a deploy step's output, for any registered target.
    expect(notDeployment.stderr.toString()).toContain(`${root}: no target recognises this folder; expected a deployment folder (the output of a deploy step, for target ${targetNames().join(" or ")})`)
  }, 30_000)
})

describe("pipeline.ts#node", () => {
  test("runs the pipeline up to the deploy node and resolves its deployment; a non-deploy or unknown node is refused by name", async () => {
    const file = join(root, "serve-me.ts")
    await writeFile(
      file,
      `import { pipeline } from ${JSON.stringify(join(project, "src/engine/index.ts"))}
import { deploy, exportOnnx, synthCheckpoint } from ${JSON.stringify(join(project, "stdlib/index.ts"))}
export default pipeline("serve-me", synthCheckpoint({ arch: "bert", size: "tiny", task: "embedding", seed: 3 }).as("checkpoint"))
  .then(exportOnnx({ task: "embedding" }))
  .then(deploy({}).as("deployed"))
`,
    )
    const cache = join(root, "cache")
    const log: string[] = []
    const sink = { write: (text: string) => log.push(text) }
    const resolved = await resolveDeployment(`${file}#deployed`, ["--cache-dir", cache], sink)
    expect(resolved.node).toBe("deployed")
    expect(existsSync(join(resolved.dir, "runtime.json"))).toBe(true)
    const notDeploy = await resolveDeployment(`${file}#checkpoint`, ["--cache-dir", cache], sink).catch((e: unknown) => e)
    expect(notDeploy).toBeInstanceOf(ServeError)
    expect((notDeploy as Error).message).toContain("#checkpoint: its output is not a deployment")
    const unknown = await resolveDeployment(`${file}#nowhere`, ["--cache-dir", cache], sink).catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(ServeError)
  }, 60_000)
})
