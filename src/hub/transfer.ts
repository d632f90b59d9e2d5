// Brings one file of a repo into the cache's blobs/ folder. @huggingface/hub finds where the bytes
// live (resolve → redirect to the storage backend, LFS or Xet) and streams a byte range; kiln adds
// what the client lacks: a partial `blobs/<etag>.incomplete` (the name huggingface_hub uses too) is
// resumed with a Range request after a cut-off reply, a body that stalls times out, and the bytes
// are checked against the digest the Hub's listing gives before the file is renamed into place —
// a mismatch deletes them, so nothing unverified is ever cached.
import { downloadFile } from "@huggingface/hub"
import { createHash, type Hash } from "node:crypto"
import { createReadStream, existsSync, statSync } from "node:fs"
import { mkdir, open, rename, rm } from "node:fs/promises"
import { HubError } from "./errors.ts"
import { makeHubFetch } from "./http.ts"
import { blobPath, type RepoCache } from "./hub-cache.ts"
import { type RemoteFile, toHubError } from "./remote.ts"
import { repoDesignation } from "./repo.ts"
import type { HubSettings } from "./settings.ts"

export type FileProgress = (path: string, done: number, total: number) => void

// node:crypto's hash: alone it hashed 64 KiB chunks 1.5× faster than Bun.CryptoHasher on this
// machine (724 vs 478 MiB/s); inside the download loop the two were within noise. Hashing is about
// a quarter of the download's CPU time (bench/hub-download.ts).
const newHasher = (file: RemoteFile): Hash => {
  if (file.digest.algorithm === "sha256") return createHash("sha256")
  const hasher = createHash("sha1")
  hasher.update(`blob ${file.size}\0`)
  return hasher
}

/** Feeds the bytes already on disk to the hasher (a resumed download hashes them once). */
const hashPrefix = (path: string, hasher: Hash) =>
  new Promise<void>((resolve, reject) => {
    createReadStream(path)
      .on("data", (chunk) => hasher.update(chunk as Buffer))
      .on("end", resolve)
      .on("error", reject)
  })

class Stalled extends Error {}

/**
 * Reads `stream` into `write`, giving up when no bytes arrive for `idleMs`. One watchdog timer is
 * re-armed around each chunk rather than a new timer and a promise race per chunk (a 2 GB file
 * arrives in ~30,000 chunks). Each write is awaited before the next read: variants that read ahead
 * while writing (batched writev, or coalescing into 1–8 MiB buffers) used 2–3× the kernel CPU time.
 */
const pump = async (stream: ReadableStream<Uint8Array>, write: (chunk: Uint8Array) => Promise<void>, idleMs: number, onStall: () => void): Promise<void> => {
  const reader = stream.getReader()
  let stalled = false
  const watchdog = setTimeout(() => {
    stalled = true
    onStall()
    reader.cancel(new Stalled("the server stopped sending")).catch(() => {})
  }, idleMs)
  try {
    for (;;) {
      const next = await reader.read()
      if (stalled) throw new Stalled("the server stopped sending")
      if (next.done) return
      watchdog.refresh()
      await write(next.value)
      watchdog.refresh()
    }
  } catch (cause) {
    throw stalled ? new Stalled("the server stopped sending") : cause
  } finally {
    clearTimeout(watchdog)
    reader.releaseLock()
  }
}

/** Bytes written between flushes to disk while the download goes on, so the final fsync has little left to write. */
const FLUSH_EVERY = 256 * 2 ** 20
/** Progress is reported at most once per this many bytes (and at the end). */
const PROGRESS_EVERY = 4 * 2 ** 20

/**
 * Downloads `file` at `commit` into blobs/<etag> unless it is there already; returns the blob path.
 * Retries up to `settings.attempts` times, each resuming where the last stopped.
 */
export const downloadBlob = async (cache: RepoCache, commit: string, file: RemoteFile, settings: HubSettings, signal: AbortSignal | undefined, onProgress: FileProgress = () => {}): Promise<string> => {
  const target = blobPath(cache, file.etag)
  if (existsSync(target)) return target
  const incomplete = `${target}.incomplete`
  await mkdir(cache.blobs, { recursive: true })
  const ctx = { repo: cache.repo, revision: commit, path: file.path, settings }
  let lastFailure: HubError | undefined
  for (let attempt = 0; attempt < settings.attempts; attempt++) {
    if (signal?.aborted) throw signal.reason
    let have = existsSync(incomplete) ? statSync(incomplete).size : 0
    if (have > file.size) {
      await rm(incomplete, { force: true })
      have = 0
    }
    const hasher = newHasher(file)
    if (have > 0) await hashPrefix(incomplete, hasher)
    onProgress(file.path, have, file.size)
    const http = makeHubFetch(settings.timeoutMs, signal)
    const handle = await open(incomplete, "a")
    let flushing: Promise<void> = Promise.resolve()
    try {
      if (have < file.size) {
        const blob = await downloadFile({
          repo: repoDesignation(cache.repo),
          path: file.path,
          revision: commit,
          hubUrl: settings.endpoint,
          fetch: http.fetch,
          ...(settings.token !== undefined ? { accessToken: settings.token } : {}),
        })
        if (blob === null) throw new HubError({ reason: "file-not-found", message: `${repoDesignation(cache.repo)}@${commit}: ${file.path} is listed but the Hub has no such file`, hint: "the repo changed while fetching; run again", repo: cache.repo.id, revision: commit, path: file.path })
        let written = have
        let reported = have
        let unflushed = 0
        try {
          await pump(
            (have > 0 ? blob.slice(have) : blob).stream() as ReadableStream<Uint8Array>,
            async (chunk) => {
              // A server that ignores Range sends the whole file again: never append past the size.
              if (written + chunk.byteLength > file.size) throw new HubError({ reason: "integrity", message: `${repoDesignation(cache.repo)}@${commit}: ${file.path}: the server sent more than the listed ${file.size} bytes`, hint: "run again; the partial download was discarded", repo: cache.repo.id, revision: commit, path: file.path })
              hasher.update(chunk)
              await handle.write(chunk)
              written += chunk.byteLength
              unflushed += chunk.byteLength
              // Write-back overlaps the download instead of all coming at the final fsync: for a
              // 2 GiB file from a local server the fsync after the last byte took 1.5–2.2 s, and
              // 0–0.3 s with these flushes (whole download 12.9–21.6 s → 11.4–12.2 s, 3 runs
              // each, loaded machine). One flush at a time.
              if (unflushed >= FLUSH_EVERY) {
                unflushed = 0
                await flushing
                flushing = handle.datasync()
              }
              if (written - reported >= PROGRESS_EVERY || written === file.size) {
                reported = written
                onProgress(file.path, written, file.size)
              }
            },
            settings.timeoutMs,
            http.abortAsTimeout,
          )
        } finally {
          await flushing.catch(() => {})
        }
        if (written < file.size) throw new Error(`the reply ended after ${written} of ${file.size} bytes`)
      }
    } catch (cause) {
      await handle.close()
      if (signal?.aborted) throw signal.reason
      if (cause instanceof HubError && cause.reason === "integrity") {
        await rm(incomplete, { force: true })
        throw cause
      }
      const failure = toHubError(cause, http, ctx)
      // Answers about the repo itself (gated, missing) do not change on retry; a cut-off body does.
      if (!["network", "timeout", "http"].includes(failure.reason)) throw failure
      lastFailure = failure
      continue
    }
    await handle.sync()
    await handle.close()
    const actual = hasher.digest("hex")
    if (actual !== file.digest.hex) {
      await rm(incomplete, { force: true })
      throw new HubError({
        reason: "integrity",
        message: `${repoDesignation(cache.repo)}@${commit}: ${file.path}: the downloaded bytes have ${file.digest.algorithm} ${actual}, but the Hub lists ${file.digest.hex}; nothing was cached`,
        hint: "run again; if it repeats, the mirror at HF_ENDPOINT serves corrupt data",
        repo: cache.repo.id,
        revision: commit,
        path: file.path,
      })
    }
    await rename(incomplete, target)
    return target
  }
  throw lastFailure ?? new HubError({ reason: "network", message: `${repoDesignation(cache.repo)}@${commit}: ${file.path}: download failed`, repo: cache.repo.id, revision: commit, path: file.path })
}
