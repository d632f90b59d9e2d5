// Prints a benchmark result in the layout of the vendor's `vamp` profiler (DESIGN.md §6), one
// block per configuration, so CPU and accelerator numbers read alike. The CPU has no "ai utilize"
// or "die memory" counters: those lines are kept, with the value n/a, so the layout stays line-for-line.
import type { BenchResult } from "./bench.ts"

const integer = (micros: number): string => String(Math.round(micros))

export const formatVampReport = (result: BenchResult): string =>
  result.configs
    .map((c) =>
      [
        `- number of instances in each device: ${c.instances}`,
        `  devices: [${result.device}]`,
        `  batch size: ${c.batch}`,
        `  throughput (qps): ${c.qps.toFixed(4)}`,
        `  ai utilize (%): n/a`,
        `  die memory used (MB): n/a`,
        `  e2e latency (us):`,
        `    avg latency: ${integer(c.latency.avg)}`,
        `    min latency: ${integer(c.latency.min)}`,
        `    max latency: ${integer(c.latency.max)}`,
        `  model latency (us):`,
        `    avg latency: ${c.modelLatency === null ? "n/a" : integer(c.modelLatency.avg)}`,
      ].join("\n"),
    )
    .join("\n") + "\n"
