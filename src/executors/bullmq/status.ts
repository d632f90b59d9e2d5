// `kiln queue status`: what the cluster is doing — each resource class's queue depth, the workers
// listening (their resource classes and current jobs) and the recent failures with the worker
// and message that failed them.
import { parseArgs } from "node:util"
import { Queue } from "bullmq"
import IORedis from "ioredis"
import { CLASSES_KEY, connectionOf, parseFailure, queueName } from "./jobs.ts"

type Out = { write(s: string): unknown }

export interface QueueStatus {
  readonly queue: string
  readonly classes: readonly { readonly resource: string; readonly queue: string; readonly counts: Readonly<Record<string, number>> }[]
  readonly workers: readonly { readonly name: string; readonly resources: readonly string[]; readonly running: readonly string[] }[]
  readonly failures: readonly { readonly resource: string; readonly node: string; readonly step: string; readonly host: string; readonly message: string; readonly at: string }[]
}

const RECENT_FAILURES = 5

export const queueStatus = async (url: string): Promise<QueueStatus> => {
  const redis = new IORedis(url, { ...connectionOf(url), lazyConnect: true, maxRetriesPerRequest: 1 })
  redis.on("error", () => undefined)
  try {
    await Promise.race([redis.connect(), Bun.sleep(5_000).then(() => Promise.reject(new Error("no answer within 5 s")))])
    const resources = (await redis.smembers(CLASSES_KEY)).sort()
    const classes: QueueStatus["classes"][number][] = []
    const workers = new Map<string, { resources: string[]; running: string[] }>()
    const failures: QueueStatus["failures"][number][] = []
    for (const resource of resources) {
      const queue = new Queue(queueName(resource), { connection: connectionOf(url) })
      try {
        const counts = await queue.getJobCounts("waiting", "prioritized", "delayed", "active", "completed", "failed")
        classes.push({ resource, queue: queueName(resource), counts })
        for (const client of await queue.getWorkers()) {
          const raw = String((client as { rawname?: string }).rawname ?? client.name ?? "")
          const name = raw.includes(":w:") ? raw.slice(raw.indexOf(":w:") + 3) : raw
          const w = workers.get(name) ?? { resources: [], running: [] }
          if (!w.resources.includes(resource)) w.resources.push(resource)
          workers.set(name, w)
        }
        for (const job of await queue.getActive()) {
          const name = job.processedBy ?? "unknown"
          const w = workers.get(name) ?? { resources: [resource], running: [] }
          w.running.push(`${job.data?.node ?? "?"} (${job.name}, job ${String(job.id).slice(0, 12)}…)`)
          workers.set(name, w)
        }
        for (const job of await queue.getFailed(0, RECENT_FAILURES - 1)) {
          const f = parseFailure(job.failedReason ?? "")
          failures.push({ resource, node: job.data?.node ?? "?", step: job.name, host: f.host, message: f.message, at: new Date(job.finishedOn ?? 0).toISOString() })
        }
      } finally {
        await queue.close()
      }
    }
    failures.sort((a, b) => b.at.localeCompare(a.at))
    return {
      queue: url,
      classes,
      workers: [...workers].map(([name, w]) => ({ name, resources: w.resources.sort(), running: w.running })).sort((a, b) => a.name.localeCompare(b.name)),
      failures: failures.slice(0, RECENT_FAILURES),
    }
  } finally {
    redis.disconnect()
  }
}

export const renderQueueStatus = (s: QueueStatus): string => {
  const lines = [`queue ${s.queue}`]
  if (s.classes.length === 0) lines.push("  no resource class has been used yet")
  for (const c of s.classes) {
    const n = c.counts
    lines.push(`  ${c.resource} (${c.queue}): ${(n.waiting ?? 0) + (n.prioritized ?? 0)} waiting, ${n.delayed ?? 0} delayed, ${n.active ?? 0} running, ${n.completed ?? 0} done, ${n.failed ?? 0} failed`)
  }
  lines.push(s.workers.length === 0 ? "  workers: none listening" : "  workers:")
  for (const w of s.workers) lines.push(`    ${w.name} — ${w.resources.join(", ")}${w.running.length > 0 ? `; running ${w.running.join(", ")}` : "; idle"}`)
  if (s.failures.length > 0) lines.push("  recent failures:")
  for (const f of s.failures) lines.push(`    ${f.at} ${f.node} (${f.step}) on ${f.host}: ${f.message}`)
  return lines.join("\n") + "\n"
}

export const queueStatusCli = async (argv: readonly string[], out: Out, err: Out, env: Record<string, string | undefined> = process.env): Promise<number> => {
  let values
  try {
    ;({ values } = parseArgs({ args: [...argv], strict: true, options: { queue: { type: "string" }, json: { type: "boolean" } } }))
  } catch (e) {
    err.write(`error: kiln queue status: ${(e as Error).message}\n`)
    return 2
  }
  const url = values.queue ?? env.KILN_EXECUTOR
  if (url === undefined || !/^rediss?:\/\//.test(url)) {
    err.write(`error: kiln queue status: --queue ${url ?? "(missing)"}: expected a Redis URL, e.g. redis://queue-host:6379 (or set KILN_EXECUTOR)\n`)
    return 2
  }
  try {
    const status = await queueStatus(url)
    out.write(values.json === true ? JSON.stringify(status) + "\n" : renderQueueStatus(status))
    return 0
  } catch (e) {
    err.write(`error: kiln queue status: cannot read the queue at ${url}: ${(e as Error).message}\n`)
    return 1
  }
}
