#!/usr/bin/env bun
// `bun run kiln <command>`: utility commands beside the per-pipeline run CLI.
import { parseArgs } from "node:util"
import { cacheLayout, resolveCacheRoot } from "../cache/layout.ts"
import { cacheStatus, collectGarbage, verifyCache } from "../cache/maintenance.ts"

const USAGE = `Usage: bun run kiln <command>

Commands:
  cache status [--cache-dir DIR] [--remote-cache URL]
                                            what the cache holds, steps built / local hits / remote hits
                                            over recorded runs, and the remote tier ($KILN_REMOTE_CACHE): reachable?
  cache verify [--cache-dir DIR]            re-hash every blob; quarantine corrupt ones, drop entries using them
  cache gc [--days N] [--cache-dir DIR]     remove what no lock file and no run in the last N days (default 7) references,
                                            temp dirs of runs no longer alive, and lock files nobody holds
  synth --arch A --size S --task T --seed N --out DIR   write a seeded synthetic checkpoint (kiln synth --help)
  export <checkpoint dir> --task T --out DIR            export a checkpoint to ONNX (kiln export --help)
  serve <deployment dir | pipeline.ts#node> [flags]     serve a deployment over HTTP (kiln serve --help)
  report <lock file | run> [--compare A B]  the run's report (HTML with plots, Markdown, JSON) from the cache; B against A
                                            with regressions flagged (kiln report --help)
  worker --queue redis://… --remote-cache URL [--resources cpu,device:vacc] [--concurrency N]
                                            run steps queued by pipelines run with --executor (kiln worker --help)
  queue status [--queue redis://…] [--json] workers with their resources and current jobs, queue depths, recent failures
  doctor                                    what each target (cpu, vacc) finds here: tools, versions, devices
  doctor --stand-ins                        print the exports that select kiln's vacc stand-ins (no card needed)

Pipelines run with their own CLI: bun run pipelines/<name>.ts --help`

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`

/** The remote tier a run here would use, and whether it answers (one HEAD, 5 s unless KILN_REMOTE_CACHE_TIMEOUT). */
const remoteStatus = async (url: string | undefined): Promise<{ readonly url: string; readonly state: string } | undefined> => {
  if (url === undefined || url.trim() === "") return undefined
  const { openStore } = await import("../store/index.ts")
  const Effect = await import("effect/Effect")
  const env: Record<string, string | undefined> = { ...process.env, KILN_REMOTE_CACHE_TIMEOUT: process.env.KILN_REMOTE_CACHE_TIMEOUT ?? "5" }
  const store = openStore(url.trim(), env)
  if ("error" in store) return { url, state: store.error }
  const signing = env.KILN_CACHE_SIGNING_KEY ? "KILN_CACHE_SIGNING_KEY set" : "KILN_CACHE_SIGNING_KEY not set: runs will not use it"
  const probe = await Effect.runPromise(Effect.match(store.hasBlob("0".repeat(64)), { onSuccess: () => "reachable", onFailure: (e) => `unreachable (${e.message})` }))
  return { url: store.describe, state: `${probe}; ${signing}` }
}

/** Runs a kiln command and returns the exit code. */
export const runKiln = async (argv: readonly string[], out: { write(s: string): unknown } = process.stdout, err: { write(s: string): unknown } = process.stderr): Promise<number> => {
  const [command, sub, ...rest] = argv
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    out.write(USAGE + "\n")
    return command === undefined ? 2 : 0
  }
  // Loaded on demand: they pull in ONNX Runtime and the model libraries, which `cache` does not need.
  if (command === "synth") return (await import("../synth/index.ts")).runSynthCli(argv.slice(1), out, err)
  if (command === "export") return (await import("../export/index.ts")).exportCli(argv.slice(1), out, err)
  if (command === "serve") return (await import("../serve/index.ts")).serveCli(argv.slice(1), out, err)
  if (command === "report") return (await import("../report/index.ts")).reportCli(argv.slice(1), out, err)
  if (command === "worker") return (await import("../executors/bullmq/index.ts")).workerCli(argv.slice(1), out, err)
  if (command === "queue") {
    if (sub !== "status") {
      err.write(`error: unknown queue command "${sub ?? ""}"; expected status\n`)
      return 2
    }
    return (await import("../executors/bullmq/index.ts")).queueStatusCli(rest, out, err)
  }
  if (command === "doctor") {
    const doctor = await import("../targets/doctor.ts")
    const flags = argv.slice(1)
    const unknown = flags.filter((f) => f !== "--stand-ins")
    if (unknown.length > 0) {
      err.write(`error: kiln doctor: unknown option ${unknown[0]}; expected --stand-ins or nothing\n`)
      return 2
    }
    out.write(flags.includes("--stand-ins") ? doctor.standInExports() : doctor.doctorReport())
    return 0
  }
  if (command === "cache") {
    let values
    try {
      ;({ values } = parseArgs({ args: rest, strict: true, options: { "cache-dir": { type: "string" }, days: { type: "string" }, json: { type: "boolean" }, "remote-cache": { type: "string" } } }))
    } catch (e) {
      err.write(`error: kiln cache ${sub ?? ""}: ${(e as Error).message}\n`)
      return 2
    }
    const layout = cacheLayout(resolveCacheRoot(values["cache-dir"]))
    switch (sub) {
      case "status": {
        const s = cacheStatus(layout)
        const remote = await remoteStatus(values["remote-cache"] ?? process.env.KILN_REMOTE_CACHE)
        const o = s.outcomes
        out.write(
          values.json
            ? JSON.stringify({ ...s, remote }) + "\n"
            : `cache ${s.root}\n  blobs: ${s.blobs} (${mib(s.blobBytes)})\n  action entries: ${s.actions}\n  materialised trees: ${s.materialised}\n  quarantined blobs: ${s.quarantined}\n  temp dirs: ${s.tempDirs}\n` +
                `  steps over ${o.runs} recorded run(s): ${o.ran} built here, ${o.cached} local hits, ${o.remote} remote hits\n` +
                `  remote tier: ${remote === undefined ? "none (--remote-cache / KILN_REMOTE_CACHE)" : `${remote.url}: ${remote.state}`}\n`,
        )
        return 0
      }
      case "verify": {
        const r = verifyCache(layout)
        out.write(
          values.json
            ? JSON.stringify(r) + "\n"
            : `verified ${r.checked} blobs: ${r.corrupt.length} corrupt (quarantined), ${r.droppedActions.length} entries dropped; ${r.corruptCopies.length} corrupt materialised file(s) removed\n`,
        )
        for (const d of r.corrupt) out.write(`  corrupt blob ${d}\n`)
        for (const c of r.corruptCopies) out.write(`  corrupt copy out.v1/${c}\n`)
        return r.corrupt.length === 0 && r.corruptCopies.length === 0 ? 0 : 1
      }
      case "gc": {
        const days = values.days === undefined ? 7 : Number(values.days)
        if (!Number.isFinite(days) || days < 0) {
          err.write(`error: --days ${values.days}: expected a non-negative number\n`)
          return 2
        }
        const r = collectGarbage(layout, days)
        for (const problem of r.unreadable) err.write(`warning: ${problem}; it protected nothing from this gc\n`)
        out.write(
          values.json
            ? JSON.stringify(r) + "\n"
            : `gc: kept ${r.keptActions} entries, removed ${r.removedActions} entries and ${r.removedBlobs} blobs (${mib(r.freedBytes)}), ${r.removedTempDirs} stale temp dirs, ${r.removedLocks} unused lock files\n`,
        )
        return 0
      }
      default:
        err.write(`error: unknown cache command "${sub ?? ""}"; expected status, verify or gc\n`)
        return 2
    }
  }
  err.write(`error: unknown command "${command}"\n${USAGE}\n`)
  return 2
}

if (import.meta.main) {
  // No signal listeners here: `kiln synth` / `kiln export` write their output in long synchronous
  // calls, so a JS listener would only run once the work is done — Ctrl-C would not stop them.
  // The default (exit at once, status 130) is the better behaviour; `kiln serve` installs its own.
  runKiln(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`error: ${(e as Error).message}\n`)
      process.exit(1)
    },
  )
}
