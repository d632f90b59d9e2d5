// Re-hashing on demand: a blob whose content no longer matches its name is moved to quarantine
// (never served again), and a materialised tree that hard-links it is removed.
import { mkdirSync, renameSync, rmSync } from "node:fs"
import { join } from "node:path"
import { blobPath, hasBlob } from "./blobs.ts"
import { sha256File } from "./file-digest.ts"
import type { CacheLayout } from "./layout.ts"
import { readManifest } from "./tree.ts"

/** True when the blob exists and still hashes to its name; a corrupt blob is quarantined. */
export const blobIntact = (layout: CacheLayout, digest: string): boolean => {
  if (!hasBlob(layout, digest)) return false
  if (sha256File(blobPath(layout, digest)) === digest) return true
  mkdirSync(layout.quarantine, { recursive: true })
  try {
    renameSync(blobPath(layout, digest), join(layout.quarantine, `${digest}-${Date.now()}`))
  } catch {
    // already moved by a concurrent verifier
  }
  return false
}

/** Re-hashes an entry's tree, its files and its log (for `--verify` before serving a hit). */
export const verifyEntry = (layout: CacheLayout, entry: { readonly output: string; readonly log: string | null }): boolean => {
  const manifest = readManifest(layout, entry.output)
  if (manifest === undefined) return false
  const digests = [entry.output, ...manifest.entries.map((e) => e.digest), ...(entry.log !== null ? [entry.log] : [])]
  // Check every blob (not just up to the first bad one) so all corrupt ones are quarantined.
  const ok = digests.map((d) => blobIntact(layout, d)).every(Boolean)
  // A materialised copy hard-links the bad blob; it must not be served again.
  if (!ok) rmSync(join(layout.out, entry.output), { recursive: true, force: true })
  return ok
}
