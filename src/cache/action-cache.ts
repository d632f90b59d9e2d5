// Action entries: action key → the output tree a step produced (plus its log and the key's
// preimage, so `--dry-run` can say what changed). Written last, after every blob and tree it
// names, so an entry never points at missing data; a lookup re-checks that anyway.
import { existsSync, readFileSync } from "node:fs"
import { z } from "zod"
import { blobPath, writeFileAtomic } from "./blobs.ts"
import { type CacheLayout, shard } from "./layout.ts"
import { treeComplete } from "./tree.ts"

const Digest = z.string().regex(/^[0-9a-f]{64}$/)

export const ActionEntry = z.object({
  kilnAction: z.literal(1),
  key: Digest,
  /** The key's preimage, kept so a later run can say what changed; its shape is the engine's. */
  keyInputs: z.record(z.string(), z.unknown()),
  output: Digest,
  log: Digest.nullable(),
  ms: z.number(),
})
export type ActionEntry = z.infer<typeof ActionEntry>

export const actionEntryPath = (layout: CacheLayout, key: string): string => shard(layout.ac, key, ".json")

/** The raw entry, or undefined when absent or unreadable (an unreadable entry is a miss). */
export const readActionEntry = (layout: CacheLayout, key: string): ActionEntry | undefined => {
  const path = actionEntryPath(layout, key)
  if (!existsSync(path)) return undefined
  try {
    const parsed = ActionEntry.safeParse(JSON.parse(readFileSync(path, "utf8")))
    return parsed.success && parsed.data.key === key ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** An entry that may be served: it and everything it references exist. */
export const lookupAction = (layout: CacheLayout, key: string): ActionEntry | undefined => {
  const entry = readActionEntry(layout, key)
  if (entry === undefined) return undefined
  if (!treeComplete(layout, entry.output)) return undefined
  if (entry.log !== null && !existsSync(blobPath(layout, entry.log))) return undefined
  return entry
}

export const writeActionEntry = (layout: CacheLayout, entry: ActionEntry) =>
  writeFileAtomic(actionEntryPath(layout, entry.key), new TextEncoder().encode(JSON.stringify(entry, null, 2) + "\n"))
