// Prometheus metrics for GET /metrics (prom-client, one registry per server): requests by route and
// status, request latency, batch sizes in rows and padded tokens, time rows waited for their batch,
// queue depth and requests in flight.
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import type { BatchStats } from "./batcher.ts"
import type { Operation } from "./served-model.ts"

export interface ServeMetrics {
  readonly registry: Registry
  request(route: string, status: number, seconds: number): void
  batch(operation: Operation, stats: BatchStats): void
  readonly inFlight: Gauge
}

export const createMetrics = (queueDepth: () => number): ServeMetrics => {
  const registry = new Registry()
  const requests = new Counter({ name: "kiln_requests_total", help: "HTTP requests by route and status", labelNames: ["route", "status"], registers: [registry] })
  const latency = new Histogram({
    name: "kiln_request_duration_seconds",
    help: "Time from request to response, by route",
    labelNames: ["route"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const batchRows = new Histogram({ name: "kiln_batch_size", help: "Rows per model batch", labelNames: ["operation"], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers: [registry] })
  const batchTokens = new Histogram({
    name: "kiln_batch_padded_tokens",
    help: "Rows × longest row per model batch",
    labelNames: ["operation"],
    buckets: [16, 64, 256, 1024, 4096, 16384, 65536],
    registers: [registry],
  })
  const queueWait = new Histogram({
    name: "kiln_queue_wait_seconds",
    help: "How long a batch's oldest row waited in the queue",
    labelNames: ["operation"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  new Gauge({
    name: "kiln_queue_depth",
    help: "Rows waiting for a batch",
    registers: [registry],
    collect() {
      this.set(queueDepth())
    },
  })
  const inFlight = new Gauge({ name: "kiln_requests_in_flight", help: "Requests being handled", registers: [registry] })
  return {
    registry,
    inFlight,
    request(route, status, seconds) {
      requests.inc({ route, status: String(status) })
      latency.observe({ route }, seconds)
    },
    batch(operation, stats) {
      batchRows.observe({ operation }, stats.rows)
      batchTokens.observe({ operation }, stats.paddedTokens)
      queueWait.observe({ operation }, stats.waitedMs / 1000)
    },
  }
}
