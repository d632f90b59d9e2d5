// Re-hashing on demand: a blob whose content no longer matches its name is moved to quarantine
// (never served again), and every materialised folder and action entry that uses it is dropped —
// their hard links still point at the bad bytes, and a later re-run may store the blob anew.
import { existsSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { actionEntryPath, readActionEntry } from "./action-cache.ts"
import { blobPath, hasBlob, quarantineBlob } from "./blobs.ts"
import { sha256File } from "./file-digest.ts"
import type { CacheLayout } from "./layout.ts"
import { listShards } from "./shards.ts"
import { readManifest } from "./tree.ts"

/** True when the blob exists and still hashes to its name; a corrupt blob is quarantined and its users dropped. */
export const blobIntact = (layout: CacheLayout, digest: string): boolean => {
  if (!hasBlob(layout, digest)) return false
  if (sha256File(blobPath(layout, digest)) === digest) return true
  quarantineBlob(layout, digest)
  dropUsersOf(layout, new Set([digest]))
  return false
}

/**
 * Removes every materialised folder and action entry whose tree (or log) includes one of `bad`.
 * Returns the action keys dropped.
 */
export const dropUsersOf = (layout: CacheLayout, bad: ReadonlySet<string>): string[] => {
  const uses = (tree: string): boolean => bad.has(tree) || (readManifest(layout, tree)?.entries.some((e) => bad.has(e.digest)) ?? false)
  if (existsSync(layout.out)) {
    for (const tree of readdirSync(layout.out)) if (uses(tree)) rmSync(join(layout.out, tree), { recursive: true, force: true })
  }
  const dropped: string[] = []
  for (const key of listShards(layout.ac, ".json")) {
    const entry = readActionEntry(layout, key)
    if (entry !== undefined && (uses(entry.output) || (entry.log !== null && bad.has(entry.log)))) {
      rmSync(actionEntryPath(layout, key), { force: true })
      dropped.push(key)
    }
  }
  return dropped
}

/** Re-hashes an entry's tree, its files and its log (for `--verify` before serving a hit). */
export const verifyEntry = (layout: CacheLayout, entry: { readonly output: string; readonly log: string | null }): boolean => {
  const manifest = readManifest(layout, entry.output)
  if (manifest === undefined) return false
  const digests = [entry.output, ...manifest.entries.map((e) => e.digest), ...(entry.log !== null ? [entry.log] : [])]
  // Check every blob (not just up to the first bad one) so all corrupt ones are quarantined.
  return digests.map((d) => blobIntact(layout, d)).every(Boolean)
}
