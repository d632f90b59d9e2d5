// Trees: an artifact is a directory of files; its manifest (sorted relative paths, sizes, blob
// digests, executable bits) is itself a blob, and the manifest's digest is the artifact's digest.
// Tools that need a real directory get one materialised by hard links into the blob store.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative, sep } from "node:path"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { z } from "zod"
import { canonicalJson, sha256Hex } from "./canonical-json.ts"
import { CacheError } from "./errors.ts"
import { blobPath, cacheFailure, putBlobBytes, putBlobFromFile } from "./blobs.ts"
import type { CacheLayout } from "./layout.ts"
import type { StatMemo } from "./stat-memo.ts"

const TreeEntry = z.object({
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  executable: z.boolean(),
})
export const TreeManifest = z.object({ kilnTree: z.literal(1), entries: z.array(TreeEntry) })
export type TreeManifest = z.infer<typeof TreeManifest>
export type TreeDigest = string & { readonly _brand: "TreeDigest" }

/** Regular files under `dir`, sorted by relative path; anything else is an error naming it. */
export const listFiles = (dir: string): { readonly rel: string; readonly abs: string; readonly size: number; readonly executable: boolean }[] => {
  const out: { rel: string; abs: string; size: number; executable: boolean }[] = []
  const walk = (current: string): void => {
    for (const name of readdirSync(current).sort()) {
      const abs = join(current, name)
      const st = lstatSync(abs)
      if (st.isDirectory()) walk(abs)
      else if (st.isFile()) out.push({ rel: relative(dir, abs).split(sep).join("/"), abs, size: st.size, executable: (st.mode & 0o111) !== 0 })
      else throw new Error(`${abs} is not a regular file or directory (symlinks and devices cannot be artifacts)`)
    }
  }
  walk(dir)
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
}

export const manifestBytes = (manifest: TreeManifest): Uint8Array => new TextEncoder().encode(canonicalJson(manifest))

/** Digest of a directory or single file in place (sources), using the stat memo. Nothing is stored. */
export const digestInPlace = (path: string, memo: StatMemo): TreeDigest => {
  const st = lstatSync(path)
  const files = st.isDirectory() ? listFiles(path) : [{ rel: path.split(sep).pop()!, abs: path, size: st.size, executable: (st.mode & 0o111) !== 0 }]
  return digestFiles(files, memo)
}

/**
 * Digest of the tree made of the given files (relative path → a regular file on disk, e.g. a blob
 * a source resolved a link to), using the stat memo. Nothing is stored.
 */
export const digestFiles = (files: readonly { readonly rel: string; readonly abs: string }[], memo: StatMemo): TreeDigest => {
  const entries = [...files]
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))
    .map((f) => {
      const st = lstatSync(f.abs)
      if (!st.isFile()) throw new Error(`${f.abs} is not a regular file`)
      const { digest, size } = memo.digestOf(f.abs)
      return { path: f.rel, size, digest, executable: (st.mode & 0o111) !== 0 }
    })
  return sha256Hex(manifestBytes({ kilnTree: 1, entries })) as TreeDigest
}

/** Moves every file of `dir` into the blob store and stores its manifest. */
export const ingestTree = (layout: CacheLayout, dir: string) =>
  Effect.gen(function* () {
    const files = yield* Effect.try({ try: () => listFiles(dir), catch: (e) => new CacheError({ message: `cache: cannot read output ${dir}: ${String((e as Error).message ?? e)}`, path: dir }) })
    const entries: TreeManifest["entries"] = []
    for (const file of files) {
      const digest = yield* putBlobFromFile(layout, file.abs)
      entries.push({ path: file.rel, size: file.size, digest, executable: file.executable })
    }
    const manifest: TreeManifest = { kilnTree: 1, entries }
    const digest = (yield* putBlobBytes(layout, manifestBytes(manifest))) as TreeDigest
    return { digest, manifest }
  })

export const readManifest = (layout: CacheLayout, digest: string): TreeManifest | undefined => {
  const path = blobPath(layout, digest)
  if (!existsSync(path)) return undefined
  try {
    const parsed = TreeManifest.safeParse(JSON.parse(readFileSync(path, "utf8")))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/** Size of the file at `path`, or undefined when there is none. */
const sizeOf = (path: string): number | undefined => {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}

/**
 * True when the manifest blob and every blob it lists are present at the size the manifest says:
 * a truncated blob makes its trees incomplete, so a plain hit never serves it. (Only `--verify`
 * and `kiln cache verify` re-hash; a size check costs one stat per file.)
 */
export const treeComplete = (layout: CacheLayout, digest: string): boolean => {
  const manifest = readManifest(layout, digest)
  return manifest !== undefined && manifest.entries.every((e) => sizeOf(blobPath(layout, e.digest)) === e.size)
}

/**
 * Whether `dir` is exactly a materialisation of `manifest`: the same files, each a hard link to
 * its blob (same device and inode) at the manifest's size. A folder that fails this holds copies
 * the blob store no longer vouches for — e.g. links to a blob since quarantined and stored anew.
 */
export const materialisedIntact = (layout: CacheLayout, dir: string, manifest: TreeManifest): boolean => {
  try {
    const files = listFiles(dir)
    if (files.length !== manifest.entries.length) return false
    return files.every((f, i) => {
      const entry = manifest.entries[i]!
      if (f.rel !== entry.path || f.size !== entry.size) return false
      const copy = statSync(f.abs)
      const blob = statSync(blobPath(layout, entry.digest))
      return copy.ino === blob.ino && copy.dev === blob.dev
    })
  } catch {
    return false
  }
}

/**
 * A directory holding the tree's files (hard links to blobs), created once per digest. An
 * existing folder is reused only while it still links the blobs (one stat per file); otherwise it
 * is replaced.
 */
export const materialiseTree = (layout: CacheLayout, digest: TreeDigest) =>
  Effect.gen(function* () {
    const target = join(layout.out, digest)
    const manifest = readManifest(layout, digest)
    if (manifest === undefined) return yield* new CacheError({ message: `cache: tree ${digest} is missing or unreadable`, hint: "run `bun run kiln cache verify`" })
    if (existsSync(target) && materialisedIntact(layout, target, manifest)) return target
    const fs = yield* FileSystem.FileSystem
    yield* Effect.gen(function* () {
      yield* fs.makeDirectory(layout.tmp, { recursive: true })
      yield* fs.makeDirectory(layout.out, { recursive: true })
      const staging = yield* fs.makeTempDirectory({ directory: layout.tmp, prefix: "materialise-" })
      yield* Effect.gen(function* () {
        for (const entry of manifest.entries) {
          const dest = join(staging, ...entry.path.split("/"))
          yield* fs.makeDirectory(join(dest, ".."), { recursive: true })
          yield* fs.link(blobPath(layout, entry.digest), dest)
        }
        // A stale folder (see materialisedIntact) goes first; renaming over it would fail.
        if (existsSync(target) && !materialisedIntact(layout, target, manifest)) yield* fs.remove(target, { recursive: true })
        yield* fs.rename(staging, target).pipe(
          // Another process materialised the same tree first: theirs is as good as ours.
          Effect.catch((error) => (existsSync(target) ? fs.remove(staging, { recursive: true }) : Effect.fail(error))),
        )
      }).pipe(
        // Failed or interrupted half-way: the staging dir must not stay behind.
        Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : fs.remove(staging, { recursive: true, force: true }).pipe(Effect.ignore))),
      )
    }).pipe(Effect.mapError(cacheFailure("materialise", target)))
    return target
  })
