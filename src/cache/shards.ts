// Listing a sharded table (cas.v1/ab/<digest>, ac.v1/ab/<key>.json): names only, sorted, skipping
// temp files of writes in progress.
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

export const listShards = (dir: string, suffix = ""): string[] => {
  if (!existsSync(dir)) return []
  const out: string[] = []
  for (const shard of readdirSync(dir).sort()) {
    const sub = join(dir, shard)
    if (!statSync(sub).isDirectory()) continue
    for (const name of readdirSync(sub).sort()) {
      if (name.includes(".tmp-")) continue
      if (suffix === "" ? /^[0-9a-f]{64}$/.test(name) : name.endsWith(suffix)) out.push(suffix === "" ? name : name.slice(0, -suffix.length))
    }
  }
  return out
}
