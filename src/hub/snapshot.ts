// Finds the files a task needs from a Hub repo at a revision: in the shared Hugging Face cache when
// they are there (no network at all for a pinned commit, or with HF_HUB_OFFLINE), else downloads
// the missing ones — at the resolved commit, several at once, each verified — links them into
// snapshots/<sha>/ and records refs/<revision>, exactly as Python's huggingface_hub would.
import * as Effect from "effect/Effect"
import { HubError } from "./errors.ts"
import { describeWanted, selectFiles, type WantedFiles } from "./files.ts"
import { linkIntoSnapshot, readRef, repoCache, type RepoCache, snapshotDir, snapshotFiles, writeRef } from "./hub-cache.ts"
import { listRepoFiles, resolveCommit } from "./remote.ts"
import { type HubRepo, isCommitSha, repoDesignation } from "./repo.ts"
import type { HubSettings } from "./settings.ts"
import { downloadBlob, type FileProgress } from "./transfer.ts"

export interface SnapshotRequest {
  readonly repo: HubRepo
  /** Branch, tag or commit sha; default "main". */
  readonly revision?: string
  readonly want: readonly WantedFiles[]
}

export interface Snapshot {
  readonly repo: HubRepo
  readonly revision: string
  /** The commit the revision resolved to. */
  readonly commit: string
  /** snapshots/<commit>: the chosen files by their repo paths (symlinks into blobs/). */
  readonly dir: string
  /** Chosen repo path → the blob file holding its bytes, sorted by path. */
  readonly files: ReadonlyMap<string, string>
  /** Repo paths that were downloaded in this call (empty when the cache had everything). */
  readonly downloaded: readonly string[]
}

export interface FetchOptions {
  readonly onProgress?: FileProgress
  /** Called with lines worth logging (which commit a ref resolved to, what is downloaded). */
  readonly log?: (line: string) => void
}

const missingError = (repo: HubRepo, revision: string, at: string, missing: readonly WantedFiles[], hint: string) =>
  new HubError({
    reason: "file-not-found",
    message: `${repoDesignation(repo)}@${revision}: ${at} has no ${missing.map(describeWanted).join("; no ")}`,
    hint,
    repo: repo.id,
    revision,
  })

const chosen = (cache: RepoCache, commit: string, files: readonly string[]) => {
  const present = snapshotFiles(cache, commit)
  return new Map(files.map((f) => [f, present.get(f)!]))
}

/** The snapshot from the cache alone, or undefined when it lacks a wanted file. */
const fromCache = (cache: RepoCache, commit: string, want: readonly WantedFiles[]) => {
  const present = snapshotFiles(cache, commit)
  const selection = selectFiles([...present.keys()], want)
  return selection.missing.length === 0 ? selection.files : undefined
}

export const fetchSnapshot = (request: SnapshotRequest, settings: HubSettings, options: FetchOptions = {}): Effect.Effect<Snapshot, HubError> =>
  Effect.gen(function* () {
    const { repo, want } = request
    const revision = request.revision ?? "main"
    const cache = repoCache(settings.cacheDir, repo)
    const log = options.log ?? (() => {})
    const cached = (commit: string) => Effect.try({ try: () => fromCache(cache, commit, want), catch: (e) => e as HubError })

    // A pinned commit already in the cache, or offline: never touch the network.
    if (isCommitSha(revision) || settings.offline) {
      const commit = isCommitSha(revision) ? revision : yield* Effect.try({ try: () => readRef(cache, revision), catch: (e) => e as HubError })
      const files = commit !== undefined ? yield* cached(commit) : undefined
      if (commit !== undefined && files !== undefined) {
        return { repo, revision, commit, dir: snapshotDir(cache, commit), files: chosen(cache, commit, files), downloaded: [] }
      }
      if (settings.offline) {
        return yield* new HubError({
          reason: "offline",
          message: `${repoDesignation(repo)}@${revision}: HF_HUB_OFFLINE is set and ${settings.cacheDir} has ${commit === undefined ? "no snapshot of this revision" : `an incomplete snapshot ${commit.slice(0, 12)}`}`,
          hint: `unset HF_HUB_OFFLINE to download it once, or fill the cache elsewhere (huggingface-cli download ${repoDesignation(repo)}${revision !== "main" ? ` --revision ${revision}` : ""}) and point HF_HUB_CACHE at it`,
          repo: repo.id,
          revision,
        })
      }
    }

    const commit = isCommitSha(revision) ? revision : yield* resolveCommit(repo, revision, settings)
    if (commit !== revision) log(`${repoDesignation(repo)}: ${revision} is commit ${commit}`)
    const listing = yield* listRepoFiles(repo, commit, settings)
    const selection = selectFiles(listing.map((f) => f.path), want)
    if (selection.missing.length > 0) return yield* missingError(repo, revision, `commit ${commit.slice(0, 12)}`, selection.missing, "pick a revision that has these files, or a repo of the right kind")
    const byPath = new Map(listing.map((f) => [f.path, f]))
    const present = yield* Effect.try({ try: () => snapshotFiles(cache, commit), catch: (e) => e as HubError })
    const needed = selection.files.filter((path) => !present.has(path))
    if (needed.length > 0) log(`${repoDesignation(repo)}@${commit.slice(0, 12)}: downloading ${needed.join(", ")}`)
    yield* Effect.forEach(
      needed,
      (path) =>
        Effect.tryPromise({
          try: async (signal) => {
            const file = byPath.get(path)!
            await downloadBlob(cache, commit, file, settings, signal, options.onProgress)
            linkIntoSnapshot(cache, commit, path, file.etag)
          },
          catch: (cause) => (cause instanceof HubError ? cause : new HubError({ reason: "cache-io", message: `${repoDesignation(repo)}@${commit}: ${path}: cannot write ${settings.cacheDir}: ${String((cause as Error)?.message ?? cause)}`, hint: "make the cache folder writable (or point HF_HUB_CACHE elsewhere) and free some disk space", repo: repo.id, revision: commit, path, cause })),
        }),
      { concurrency: settings.concurrency, discard: true },
    )
    if (commit !== revision) yield* Effect.sync(() => writeRef(cache, revision, commit))
    return { repo, revision, commit, dir: snapshotDir(cache, commit), files: chosen(cache, commit, selection.files), downloaded: needed }
  })
