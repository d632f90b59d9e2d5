// What the scheduler and the workers agree on: one BullMQ queue per resource class, the Redis
// connection a queue URL names, and the job's data, result and failure — checked with zod on
// both sides, since either may run other code. A job carries the action key (its BullMQ job id),
// the step's identity (module and export), its code digest, resolved params and input digests:
// never artifact bytes, which travel through the remote cache.
import { z } from "zod"
import type { ResourceClass } from "../../engine/index.ts"

const Digest = z.string().regex(/^[0-9a-f]{64}$/, "expected a sha256 hex digest")

/** "cpu", "measure" (measurements: run alone on their worker), "device:<target>" (e.g. device:vacc). */
export const RESOURCE_CLASS_EXPECTED = "expected cpu, measure or device:<target>, e.g. device:vacc"
export const ResourceClassName = z.string().regex(/^(cpu|measure|device:[a-z0-9_-]+)$/, RESOURCE_CLASS_EXPECTED)

/** The queue a step goes to, from its engine resource class and the target it says it runs on. */
export const resourceClassOf = (resource: ResourceClass, runsOn: string | undefined): string => {
  if (resource === "exclusive") return "measure"
  if (resource === "device" && runsOn !== undefined && runsOn !== "cpu") return `device:${runsOn}`
  return "cpu"
}

/** BullMQ queue names may not hold ':' (its key separator). */
export const queueName = (resourceClass: string): string => `kiln-${resourceClass.replace(":", "-")}`

/** Redis set of the resource classes anyone queued for or served, for `kiln queue status`. */
export const CLASSES_KEY = "kiln:resource-classes"

/** ioredis options for a redis:// or rediss:// URL; BullMQ requires `maxRetriesPerRequest: null` for blocking clients. */
export const connectionOf = (url: string) => ({ url, maxRetriesPerRequest: null, connectTimeout: 5_000 })

export const CodeDigestData = z.object({ files: z.record(z.string(), z.string()), packages: z.record(z.string(), z.string()) })

export const JobData = z.object({
  /** The action key: also the job id, so one action is one job across the cluster. */
  key: Digest,
  /** The node id in the scheduler's pipeline, for logs. */
  node: z.string(),
  step: z.string(),
  version: z.number().int().positive(),
  /** The step's module, relative to the project root (the folder holding package.json), and its export. */
  module: z.string(),
  export: z.string(),
  code: CodeDigestData,
  params: z.unknown(),
  /** Input name → tree digest (on the remote cache). */
  inputs: z.record(z.string(), Digest),
  fingerprint: z.record(z.string(), z.string()),
  resource: ResourceClassName,
  /** Run even when the remote cache holds the entry (--force). */
  forced: z.boolean(),
})
export type JobData = z.infer<typeof JobData>

export const JobResult = z.object({
  /** The worker that produced the result ("host:pid" unless named). */
  host: z.string(),
  /** False when the worker found the entry on the remote cache and ran nothing. */
  ran: z.boolean(),
  ms: z.number(),
})
export type JobResult = z.infer<typeof JobResult>

/** A failed job's reason (BullMQ keeps one string): JSON of this, so the scheduler can show host and log tail. */
export const JobFailure = z.object({
  message: z.string(),
  hint: z.string().optional(),
  host: z.string(),
  logTail: z.array(z.string()),
})
export type JobFailure = z.infer<typeof JobFailure>

/** A failed reason as a JobFailure; a reason from elsewhere (BullMQ's own, e.g. a stalled job) is kept as the message. */
export const parseFailure = (reason: string): JobFailure => {
  try {
    const parsed = JobFailure.safeParse(JSON.parse(reason))
    if (parsed.success) return parsed.data
  } catch {
    // not ours
  }
  return { message: reason, host: "unknown", logTail: [] }
}
