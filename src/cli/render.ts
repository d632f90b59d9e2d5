// Renderers for run events: live lines with progress bars on a TTY, timestamped plain lines
// otherwise. Both write to the given stream (stderr when stdout carries --json).
import * as Effect from "effect/Effect"
import type { NodeResult, RunEvent } from "../engine/events.ts"
import { RunEvents } from "../engine/events.ts"

interface Writable {
  write(text: string): unknown
  readonly isTTY?: boolean
}

const seconds = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`)
const stamp = (): string => new Date().toISOString().slice(11, 19)

export const describeResult = (r: NodeResult): string => {
  switch (r.status) {
    case "ran":
      return `ran ${r.id} (${r.step})${r.host !== undefined ? ` on ${r.host}` : ""} in ${seconds(r.ms)}${r.reason !== undefined ? ` — ${r.reason}` : ""}`
    case "cached":
      return `cached ${r.id} (${r.step})`
    case "remote":
      return `remote ${r.id} (${r.step}) — from the remote cache`
    case "skipped":
      return `skipped ${r.id}${r.reason !== undefined ? ` — ${r.reason}` : ""}`
    case "failed": {
      const lines = [`FAILED ${r.id} (${r.step}): ${r.error?.message ?? "unknown error"}`]
      if (r.error?.hint !== undefined) lines.push(`  hint: ${r.error.hint}`)
      if (r.error?.logPath !== undefined) {
        lines.push(`  log: ${r.error.logPath}`)
        for (const line of r.error.logTail ?? []) lines.push(`  | ${line}`)
      }
      return lines.join("\n")
    }
  }
}

export const plainRenderer = (out: Writable) => {
  const lastPct = new Map<string, number>()
  return RunEvents.of({
    emit: (event: RunEvent) =>
      Effect.sync(() => {
        switch (event.type) {
          case "start":
            out.write(`${stamp()} start ${event.id} (${event.step}): ${event.reason}\n`)
            break
          case "waiting":
            out.write(`${stamp()} wait  ${event.id}: ${event.why}\n`)
            break
          case "progress": {
            const pct = event.total > 0 ? Math.floor((100 * event.done) / event.total / 10) * 10 : 0
            if (lastPct.get(event.id) !== pct) {
              lastPct.set(event.id, pct)
              out.write(`${stamp()} ${event.id}: ${event.done}/${event.total} (${pct}%)\n`)
            }
            break
          }
          case "log":
            out.write(`${stamp()} ${event.id} | ${event.line}\n`)
            break
          case "finish":
            out.write(`${stamp()} ${describeResult(event.result)}\n`)
            break
        }
      }),
  })
}

/** One live line per running step, redrawn in place; finished steps scroll above. */
export const ttyRenderer = (out: Writable) => {
  const running = new Map<string, { step: string; started: number; done: number; total: number }>()
  const parts = new Set<string>()
  let drawn = 0
  let last = 0
  const bar = (done: number, total: number): string => {
    const width = 24
    const filled = total > 0 ? Math.min(width, Math.round((width * done) / total)) : 0
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
  }
  const redraw = (extra: string): void => {
    let text = drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ""
    text += extra
    const now = Date.now()
    const lines: string[] = []
    for (const [id, s] of running) {
      const elapsed = now - s.started
      if (s.total > 0 && s.done > 0) {
        const eta = (elapsed * (s.total - s.done)) / s.done
        lines.push(`  ${id} ${bar(s.done, s.total)} ${Math.floor((100 * s.done) / s.total)}% ETA ${seconds(Math.round(eta))}`)
      } else lines.push(`  ${id} running ${seconds(elapsed)}`)
    }
    text += lines.map((l) => l + "\n").join("")
    drawn = lines.length
    out.write(text)
  }
  return RunEvents.of({
    emit: (event: RunEvent) =>
      Effect.sync(() => {
        switch (event.type) {
          case "start":
            running.set(event.id, { step: event.step, started: Date.now(), done: 0, total: 0 })
            redraw("")
            break
          case "waiting":
            redraw(`${event.id}: ${event.why}\n`)
            break
          case "progress": {
            // Progress of a part no step started (a source's file download) gets its own line
            // while it lasts.
            if (!running.has(event.id) && event.done < event.total) {
              running.set(event.id, { step: "", started: Date.now(), done: 0, total: 0 })
              parts.add(event.id)
            }
            const s = running.get(event.id)
            if (s !== undefined) {
              s.done = event.done
              s.total = event.total
            }
            if (parts.has(event.id) && event.done >= event.total) {
              parts.delete(event.id)
              running.delete(event.id)
              redraw("")
              break
            }
            if (Date.now() - last > 100) {
              last = Date.now()
              redraw("")
            }
            break
          }
          case "log":
            break
          case "finish":
            running.delete(event.result.id)
            redraw(describeResult(event.result) + "\n")
            break
        }
      }),
  })
}
