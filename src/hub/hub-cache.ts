// The Hugging Face cache folder, laid out exactly as Python's huggingface_hub lays it out, so each
// side finds what the other fetched:
//   <cacheDir>/models--ORG--NAME/blobs/<etag>              file contents (etag: sha256 for LFS files, git oid otherwise)
//   <cacheDir>/models--ORG--NAME/refs/<revision>           the commit sha a branch or tag pointed to
//   <cacheDir>/models--ORG--NAME/snapshots/<sha>/<path>    relative symlinks into blobs/
// Reading follows exactly the snapshot → blob symlinks: a link that leaves the repo's blobs/
// folder is refused, so a crafted cache cannot make kiln read (or hash into a cache key) any other
// file. Writes go through a temp file and a rename.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import { HubError } from "./errors.ts"
import { type HubRepo, repoDesignation, repoFolderName } from "./repo.ts"

export interface RepoCache {
  readonly repo: HubRepo
  /** models--ORG--NAME */
  readonly root: string
  readonly blobs: string
}

export const repoCache = (cacheDir: string, repo: HubRepo): RepoCache => {
  const root = join(cacheDir, repoFolderName(repo))
  return { repo, root, blobs: join(root, "blobs") }
}

const layoutError = (cache: RepoCache, path: string, what: string) =>
  new HubError({
    reason: "cache-layout",
    message: `${path}: ${what}`,
    hint: `the Hugging Face cache folder of ${repoDesignation(cache.repo)} is not in the layout huggingface_hub writes; delete ${cache.root} and fetch again`,
    repo: cache.repo.id,
    path,
  })

/** The commit a branch or tag was last seen at, from refs/<revision>. */
export const readRef = (cache: RepoCache, revision: string): string | undefined => {
  const path = join(cache.root, "refs", revision)
  if (!existsSync(path)) return undefined
  const sha = readFileSync(path, "utf8").trim()
  if (!/^[0-9a-f]{40}$/.test(sha)) throw layoutError(cache, path, `expected a 40-hex commit sha, found "${sha.slice(0, 60)}"`)
  return sha
}

export const writeRef = (cache: RepoCache, revision: string, sha: string): void => {
  const path = join(cache.root, "refs", revision)
  mkdirSync(dirname(path), { recursive: true })
  const temp = `${path}.tmp-${process.pid}`
  writeFileSync(temp, sha)
  renameSync(temp, path)
}

export const snapshotDir = (cache: RepoCache, sha: string): string => join(cache.root, "snapshots", sha)

export const blobPath = (cache: RepoCache, etag: string): string => join(cache.blobs, etag)

/**
 * The files of a cached snapshot: relative path → the blob it links to. A regular file is taken as
 * is (huggingface_hub copies instead of linking where symlinks are unsupported); a symlink must
 * resolve to a regular file directly inside this repo's blobs/; anything else is refused.
 */
export const snapshotFiles = (cache: RepoCache, sha: string): Map<string, string> => {
  const root = snapshotDir(cache, sha)
  const out = new Map<string, string>()
  if (!existsSync(root)) return out
  const blobsReal = existsSync(cache.blobs) ? realpathSync(cache.blobs) : undefined
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name)
      const rel = relative(root, abs).split(sep).join("/")
      const st = lstatSync(abs)
      if (st.isDirectory()) walk(abs)
      else if (st.isFile()) out.set(rel, abs)
      else if (st.isSymbolicLink()) {
        let target: string
        try {
          target = realpathSync(abs)
        } catch {
          continue // a dangling link: the blob is gone, so the file is not cached
        }
        if (blobsReal === undefined || dirname(target) !== blobsReal) throw layoutError(cache, abs, `links to ${target}, outside ${cache.blobs}`)
        if (!lstatSync(target).isFile()) throw layoutError(cache, abs, `links to ${target}, which is not a regular file`)
        out.set(rel, target)
      } else throw layoutError(cache, abs, "is neither a file, a folder nor a symlink into blobs/")
    }
  }
  walk(root)
  return out
}

/** Points snapshots/<sha>/<path> at blobs/<etag> with a relative link, as huggingface_hub does. */
export const linkIntoSnapshot = (cache: RepoCache, sha: string, path: string, etag: string): void => {
  const link = join(snapshotDir(cache, sha), path)
  mkdirSync(dirname(link), { recursive: true })
  const temp = `${link}.tmp-${process.pid}`
  rmSync(temp, { force: true })
  symlinkSync(relative(dirname(link), blobPath(cache, etag)), temp)
  renameSync(temp, link)
}
