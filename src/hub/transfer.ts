// Brings one file of a repo into the cache's blobs/ folder. @huggingface/hub finds where the bytes
// live (resolve → redirect to the storage backend, LFS or Xet) and streams a byte range; kiln adds
// what the client lacks: a partial `blobs/<etag>.incomplete` (the name huggingface_hub uses too) is
// resumed with a Range request after a cut-off reply, a body that stalls times out, and the bytes
// are checked against the digest the Hub's listing gives before the file is renamed into place —
// a mismatch deletes them, so nothing unverified is ever cached.
import { downloadFile } from "@huggingface/hub"
import { createReadStream, existsSync, statSync } from "node:fs"
import { mkdir, open, rename, rm } from "node:fs/promises"
import { HubError } from "./errors.ts"
import { makeHubFetch } from "./http.ts"
import { blobPath, type RepoCache } from "./hub-cache.ts"
import { type RemoteFile, toHubError } from "./remote.ts"
import { repoDesignation } from "./repo.ts"
import type { HubSettings } from "./settings.ts"

export type FileProgress = (path: string, done: number, total: number) => void

const newHasher = (file: RemoteFile) => {
  if (file.digest.algorithm === "sha256") return new Bun.CryptoHasher("sha256")
  const hasher = new Bun.CryptoHasher("sha1")
  hasher.update(`blob ${file.size}\0`)
  return hasher
}

/** Feeds the bytes already on disk to the hasher (a resumed download hashes them once). */
const hashPrefix = (path: string, hasher: Bun.CryptoHasher) =>
  new Promise<void>((resolve, reject) => {
    createReadStream(path)
      .on("data", (chunk) => hasher.update(chunk as Buffer))
      .on("end", resolve)
      .on("error", reject)
  })

class Stalled extends Error {}

/** Reads `stream` into the open file, giving up when no bytes arrive for `idleMs`. */
const pump = async (stream: ReadableStream<Uint8Array>, write: (chunk: Uint8Array) => Promise<void>, idleMs: number, onStall: () => void): Promise<void> => {
  const reader = stream.getReader()
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          onStall()
          reject(new Stalled("the server stopped sending"))
        }, idleMs)
      })
      const next = await Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer))
      if (next.done) return
      await write(next.value)
    }
  } finally {
    reader.releaseLock()
  }
}

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
        await pump(
          (have > 0 ? blob.slice(have) : blob).stream() as ReadableStream<Uint8Array>,
          async (chunk) => {
            // A server that ignores Range sends the whole file again: never append past the size.
            if (written + chunk.byteLength > file.size) throw new HubError({ reason: "integrity", message: `${repoDesignation(cache.repo)}@${commit}: ${file.path}: the server sent more than the listed ${file.size} bytes`, hint: "run again; the partial download was discarded", repo: cache.repo.id, revision: commit, path: file.path })
            hasher.update(chunk)
            await handle.write(chunk)
            written += chunk.byteLength
            onProgress(file.path, written, file.size)
          },
          settings.timeoutMs,
          http.abortAsTimeout,
        )
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
