// The report's sections as titled tables of text cells, in reading order — what the HTML and
// Markdown renderers both show (the HTML adds the plots), so the two never disagree.
import type { ReportModel } from "./model.ts"

export interface Table {
  readonly headers: readonly string[]
  readonly rows: readonly (readonly string[])[]
}

export interface Section {
  /** Anchor and plot slot. */
  readonly id: "failures" | "missing" | "accuracy" | "fidelity" | "sensitivity" | "bench" | "timeline" | "artifacts" | "environment"
  readonly title: string
  /** Sentences before the tables. */
  readonly notes: readonly string[]
  readonly tables: readonly (Table & { readonly caption?: string })[]
  /** Preformatted blocks (a failing step's log tail). */
  readonly blocks: readonly { readonly caption: string; readonly lines: readonly string[] }[]
}

const f = (v: number | undefined | null, digits = 4): string => (v === undefined || v === null ? "—" : v.toFixed(digits))
const signed = (v: number, digits = 4): string => `${v >= 0 ? "+" : ""}${v.toFixed(digits)}`
const ms = (v: number): string => (v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`)
const mib = (bytes: number): string => (bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`)

/**
 * The command that runs a recorded run again (and so re-creates its artifacts): its pipeline file
 * and flags as recorded, without --json. Runs recorded before kiln kept the command: the pipeline
 * file beside the lock file (a variant's flags cannot be told from its lock file's name).
 */
export const pipelineCommand = (run: { readonly lockFile: string; readonly command?: readonly string[] | undefined }): string =>
  `bun run ${(run.command ?? [run.lockFile.replace(/(\.[^./]+)?\.lock\.json$/, ".ts")]).filter((a) => a !== "--json").join(" ")}`

export const sections = (m: ReportModel): Section[] => {
  const out: Section[] = []
  const failed = m.steps.filter((s) => s.status === "failed")
  if (failed.length > 0) {
    const finished = m.steps.filter((s) => s.status === "ran" || s.status === "cached" || s.status === "remote").map((s) => s.id)
    const skipped = m.steps.filter((s) => s.status === "skipped").map((s) => s.id)
    out.push({
      id: "failures",
      title: "What failed",
      notes: [
        `The run failed: ${failed.map((s) => s.id).join(", ")}.`,
        `Finished: ${finished.length > 0 ? finished.join(", ") : "nothing"}.`,
        ...(skipped.length > 0 ? [`Not run (an input failed): ${skipped.join(", ")}.`] : []),
      ],
      tables: [{ headers: ["step", "error", "hint"], rows: failed.map((s) => [`${s.id} (${s.step})`, s.error?.message ?? "unknown error", s.error?.hint ?? ""]) }],
      blocks: failed.filter((s) => (s.error?.logTail ?? []).length > 0).map((s) => ({ caption: `${s.id}: last lines of its log${s.error?.logPath !== undefined ? ` (${s.error.logPath})` : ""}`, lines: s.error!.logTail! })),
    })
  }
  if (m.missing.length > 0) {
    out.push({
      id: "missing",
      title: "Artifacts no longer in the cache",
      notes: [
        `These outputs of the run were garbage-collected (or the cache was cleared), so the sections they fill are missing: ${m.missing.map((x) => x.node).join(", ")}.`,
        `Re-create them by running the pipeline again: \`${pipelineCommand(m.run)}\` (the steps run again where nothing is cached); its report then names them.`,
      ],
      tables: [{ headers: ["node", "step", "output tree"], rows: m.missing.map((x) => [x.node, x.step, x.digest.slice(0, 16)]) }],
      blocks: [],
    })
  }
  if (m.accuracy.length > 0) {
    out.push({
      id: "accuracy",
      title: "Accuracy",
      notes: ["Main score of each deployment on the evaluation set, beside its reference deployment (from the fidelity step) and the figure the model's publisher gave."],
      tables: [
        {
          headers: ["deployment", "runs on", "metric", "measured", "reference", "Δ reference", "published", "Δ published", "published by"],
          rows: m.accuracy.map((a) => [
            a.label,
            a.runsOn ?? "—",
            a.metric,
            f(a.value, 5),
            f(a.reference, 5),
            a.reference !== undefined ? signed(a.value - a.reference, 5) : "—",
            f(a.published?.value, 5),
            a.published !== undefined ? signed(a.value - a.published.value, 5) : "—",
            a.published?.source ?? "—",
          ]),
        },
      ],
      blocks: [],
    })
  }
  if (m.fidelity.length > 0) {
    const figures = [...new Set(m.fidelity.flatMap((x) => Object.keys(x.figures)))]
    out.push({
      id: "fidelity",
      title: "Fidelity to the reference",
      notes: [m.fidelity.some((x) => x.distribution !== undefined) ? "Per text: cosine of the deployment's embedding to the reference's (per pair for rerankers: |Δscore|)." : "The fidelity step of this run recorded its summary figures only."],
      tables: [
        { headers: ["deployment", ...figures], rows: m.fidelity.map((x) => [x.label, ...figures.map((k) => (k === "texts" || k === "pairs" ? String(x.figures[k] ?? "—") : f(x.figures[k], 6)))]) },
        ...m.fidelity
          .filter((x) => x.worst.length > 0)
          .map((x) => {
            const keys = Object.keys(x.worst[0]!)
            return { caption: `${x.label}: the texts that drifted most`, headers: keys, rows: x.worst.map((w) => keys.map((k) => (typeof w[k] === "number" ? f(w[k] as number, 6) : String(w[k] ?? "")))) }
          }),
      ],
      blocks: [],
    })
  }
  if (m.sensitivity.length > 0) {
    out.push({
      id: "sensitivity",
      title: "Sensitivity search",
      notes: ["Which layer groups the int8 quantizer kept in float, and each group's own loss on held-out samples."],
      tables: m.sensitivity.flatMap((s) => [
        {
          caption: `${s.label} (${s.scheme}): ${(100 * s.int8MacsShare).toFixed(1)} % of the MACs in int8; budget ${s.met ? "met" : "NOT met"} — the configurations measured`,
          headers: ["#", "action", "groups in float", "held-out mean", "held-out min", "MACs in float", "budget"],
          rows: s.steps.map((st, i) => [String(i + 1), st.action, String(st.keptFloat), f(st.mean, 6), f(st.min, 6), `${(100 * st.floatMacsShare).toFixed(1)} %`, st.met ? "met" : ""]),
        },
        ...(s.groups.length > 0
          ? [{ caption: `${s.label}: each group's loss`, headers: ["group", "loss", "MACs / token", "kept in float"], rows: [...s.groups].sort((a, b) => b.loss - a.loss).map((g) => [g.group, f(g.loss, 6), String(g.macsPerToken), g.keptFloat ? "yes" : ""]) }]
          : []),
      ]),
      blocks: [],
    })
  }
  if (m.bench.length > 0) {
    out.push({
      id: "bench",
      title: "Throughput and latency",
      notes: ["Texts per second and end-to-end latency per request, per batch size and instance count (vamp reports an average where it has no percentiles)."],
      tables: [
        {
          headers: ["deployment", "target", "device", "batch", "instances", "texts/s", "p50 ms", "p90 ms", "p99 ms", "avg ms"],
          rows: m.bench.flatMap((b) =>
            b.configs.map((c) => [b.label, b.target, b.device, String(c.batch), String(c.instances), c.qps.toFixed(1), f(c.latency.p50 === null ? null : c.latency.p50 / 1000, 2), f(c.latency.p90 === null ? null : c.latency.p90 / 1000, 2), f(c.latency.p99 === null ? null : c.latency.p99 / 1000, 2), f(c.latency.avg / 1000, 2)]),
          ),
        },
      ],
      blocks: [],
    })
  }
  const counted = m.steps.filter((s) => s.step !== "source")
  out.push({
    id: "timeline",
    title: "Steps",
    notes: [
      `${counted.filter((s) => s.status === "ran").length} ran, ${counted.filter((s) => s.status === "cached").length} cached, ${counted.filter((s) => s.status === "remote").length} from the remote cache, ${counted.filter((s) => s.status === "failed").length} failed, ${counted.filter((s) => s.status === "skipped").length} skipped.`,
    ],
    tables: [{ headers: ["node", "step", "status", "duration", "runs on", "why"], rows: m.steps.map((s) => [s.id, s.step, s.status, s.status === "ran" ? ms(s.ms) : "—", s.host !== undefined ? `${s.runsOn ?? "—"} on worker ${s.host}` : (s.runsOn ?? "—"), s.reason ?? s.error?.message ?? ""]) }],
    blocks: [],
  })
  if (m.artifacts.length > 0) {
    out.push({
      id: "artifacts",
      title: "Artifacts",
      notes: [`${mib(m.artifacts.reduce((a, x) => a + x.bytes, 0))} over ${m.artifacts.length} outputs.`],
      tables: [{ headers: ["node", "step", "size", "files", "tree"], rows: m.artifacts.map((a) => [a.node, a.step, mib(a.bytes), String(a.files), a.digest.slice(0, 16)]) }],
      blocks: [],
    })
  }
  out.push({ id: "environment", title: "Environment", notes: [], tables: [{ headers: ["", ""], rows: Object.entries(m.environment).map(([k, v]) => [k, v]) }], blocks: [] })
  return out
}
