// The environment a report names: kiln's version, the runtime, the machine, and what the benchmark
// recorded of the machine it measured on (ORT version, CPU, features, threads, tool versions).
// Read when the report is written — a report is outside the cache, so host facts belong here.
import { readFileSync } from "node:fs"
import { cpus, platform, release } from "node:os"
import { join } from "node:path"

const versionOf = (file: string): string | undefined => {
  try {
    const v = (JSON.parse(readFileSync(file, "utf8")) as { version?: unknown }).version
    return typeof v === "string" ? v : undefined
  } catch {
    return undefined
  }
}

const flatten = (prefix: string, value: unknown, out: Record<string, string>): void => {
  if (value === null || value === undefined) return
  if (Array.isArray(value)) out[prefix] = value.map(String).join(" ")
  else if (typeof value === "object") for (const [k, v] of Object.entries(value)) flatten(`${prefix} ${k}`, v, out)
  else out[prefix] = String(value)
}

export const environment = (benchDetails?: Record<string, unknown>): Record<string, string> => {
  const out: Record<string, string> = {}
  const kiln = versionOf(join(import.meta.dir, "..", "..", "package.json"))
  if (kiln !== undefined) out.kiln = kiln
  out.bun = Bun.version
  try {
    const ort = versionOf(Bun.resolveSync("onnxruntime-node/package.json", import.meta.dir))
    if (ort !== undefined) out["onnxruntime-node"] = ort
  } catch {
    // not installed: nothing to name
  }
  out.os = `${platform()} ${release()}`
  const cpu = cpus()
  if (cpu.length > 0) out.cpu = `${cpu[0]!.model.trim()} × ${cpu.length}`
  if (benchDetails !== undefined) flatten("bench", benchDetails, out)
  return out
}
