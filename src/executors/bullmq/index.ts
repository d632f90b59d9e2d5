// The BullMQ executor on Redis: the scheduler's side (executor.ts), `kiln worker` (worker.ts),
// `kiln queue status` (status.ts), and what both sides agree on (jobs.ts).
import type { ExecutorContext, OpenedExecutor } from "../opened.ts"
import { openBullmqExecutor } from "./executor.ts"

/** Seconds a job may wait on a queue no worker listens to (KILN_EXECUTOR_STARVED_AFTER; default 120). */
const starvedAfterMs = (env: Record<string, string | undefined>): number => {
  const seconds = Number(env.KILN_EXECUTOR_STARVED_AFTER)
  return env.KILN_EXECUTOR_STARVED_AFTER !== undefined && seconds > 0 ? seconds * 1000 : 120_000
}

export const openBullmq = (url: string, ctx: ExecutorContext): Promise<OpenedExecutor> => openBullmqExecutor({ url, remote: ctx.remote, starvedAfterMs: starvedAfterMs(ctx.env) })

export { workerCli, WORKER_USAGE } from "./worker.ts"
export { queueStatus, queueStatusCli, renderQueueStatus, type QueueStatus } from "./status.ts"
