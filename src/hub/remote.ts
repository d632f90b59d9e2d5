// What kiln asks the Hub through @huggingface/hub: the commit a revision points to, and the files of
// the repo at that commit (path, size and the digest each file must have). Failures become
// HubErrors that say what to do.
import { datasetInfo, HubApiError, listFiles, modelInfo } from "@huggingface/hub"
import * as Effect from "effect/Effect"
import { HubError } from "./errors.ts"
import { type HubFetch, makeHubFetch } from "./http.ts"
import { type HubRepo, repoDesignation } from "./repo.ts"
import type { HubSettings } from "./settings.ts"

export interface RemoteFile {
  readonly path: string
  readonly size: number
  /** The blob's name in the cache: the sha256 of an LFS file, the git blob oid of any other. */
  readonly etag: string
  /** How to check the bytes: sha256 of the content (LFS), or git's sha1 of "blob <size>\0" + content. */
  readonly digest: { readonly algorithm: "sha256" | "git-sha1"; readonly hex: string }
}

export interface ErrorContext {
  readonly repo: HubRepo
  readonly revision: string
  readonly path?: string
  readonly settings: HubSettings
}

const tokenHint = (settings: HubSettings) =>
  settings.token === undefined
    ? "set HF_TOKEN to a read token (https://huggingface.co/settings/tokens) of an account that has access, or log in with `huggingface-cli login`"
    : "the token in HF_TOKEN has no access: accept the repo's terms (or ask for access) on its Hub page with that account"

/** Turns a failure of a call made with `http` into a HubError naming repo, revision and file. */
export const toHubError = (cause: unknown, http: HubFetch, ctx: ErrorContext): HubError => {
  if (cause instanceof HubError) return cause
  const shown = repoDesignation(ctx.repo)
  const at = `${shown}@${ctx.revision}${ctx.path !== undefined ? `: ${ctx.path}` : ""}`
  const base = { repo: ctx.repo.id, revision: ctx.revision, ...(ctx.path !== undefined ? { path: ctx.path } : {}), cause }
  if (http.timedOut()) {
    return new HubError({ ...base, reason: "timeout", message: `${at}: ${ctx.settings.endpoint} did not answer within ${Math.round(ctx.settings.timeoutMs / 1000)} s`, hint: "check the network (HF_ENDPOINT for a mirror), or set HF_HUB_OFFLINE=1 to use only what is cached" })
  }
  const last = http.lastError()
  if (cause instanceof HubApiError || last !== undefined) {
    const status = cause instanceof HubApiError ? cause.statusCode : last!.status
    const code = last?.code
    const said = last?.message ?? (cause instanceof Error ? cause.message.replace(/\. URL: .*$/, "") : "")
    if (code === "GatedRepo" || (status === 403 && code === undefined)) {
      return new HubError({ ...base, reason: "unauthorized", message: `${at}: ${shown} is gated and ${ctx.settings.token === undefined ? "no token was given" : "the token has no access"} (the Hub says: ${said})`, hint: tokenHint(ctx.settings) })
    }
    if (code === "RepoNotFound" || (status === 401 && code === undefined)) {
      return new HubError({ ...base, reason: status === 401 && ctx.settings.token === undefined ? "unauthorized" : "repo-not-found", message: `${at}: no repo ${shown} on ${ctx.settings.endpoint}, or it is private`, hint: ctx.settings.token === undefined ? `check the name; if the repo is private, ${tokenHint(ctx.settings)}` : "check the repo name; if it is private, make sure the HF_TOKEN account can read it" })
    }
    if (code === "RevisionNotFound") {
      return new HubError({ ...base, reason: "revision-not-found", message: `${at}: ${shown} has no revision "${ctx.revision}"`, hint: "use a branch, a tag or a full 40-hex commit sha of the repo (see its \"Files and versions\" page)" })
    }
    if (code === "EntryNotFound" || (status === 404 && ctx.path !== undefined)) {
      return new HubError({ ...base, reason: "file-not-found", message: `${at}: no such file in ${shown} at ${ctx.revision}`, hint: "check the file name, or pick a revision that has it" })
    }
    return new HubError({ ...base, reason: "http", message: `${at}: the Hub answered ${status}${said !== "" ? ` (${said})` : ""}`, hint: "try again later; if it persists, check HF_ENDPOINT" })
  }
  const detail = cause instanceof Error ? `${cause.message}${cause.cause instanceof Error ? ` (${cause.cause.message})` : ""}` : String(cause)
  return new HubError({ ...base, reason: "network", message: `${at}: cannot reach ${ctx.settings.endpoint}: ${detail}`, hint: "check the network (HF_ENDPOINT for a mirror), or set HF_HUB_OFFLINE=1 to use only what is cached" })
}

const credentials = (settings: HubSettings) => (settings.token !== undefined ? { accessToken: settings.token } : {})

/** Runs a call of the Hub client with kiln's fetch, turning any failure into a HubError. */
const callHub = <A>(ctx: ErrorContext, call: (http: HubFetch) => Promise<A>) =>
  Effect.tryPromise({
    try: (signal) => {
      const http = makeHubFetch(ctx.settings.timeoutMs, signal)
      return call(http).catch((cause) => Promise.reject(toHubError(cause, http, ctx)))
    },
    catch: (cause) => (cause instanceof HubError ? cause : toHubError(cause, makeHubFetch(0, undefined), ctx)),
  })

/** The 40-hex commit sha a branch, tag or sha names now. */
export const resolveCommit = (repo: HubRepo, revision: string, settings: HubSettings): Effect.Effect<string, HubError> =>
  callHub({ repo, revision, settings }, async (http) => {
    const params = { name: repo.id, revision, hubUrl: settings.endpoint, fetch: http.fetch, additionalFields: ["sha"] as ["sha"], ...credentials(settings) }
    const info = repo.type === "model" ? await modelInfo(params) : await datasetInfo(params)
    const sha = (info as { sha?: unknown }).sha
    if (typeof sha !== "string" || !/^[0-9a-f]{40}$/.test(sha)) throw new HubError({ reason: "http", message: `${repoDesignation(repo)}@${revision}: the Hub's reply has no commit sha`, hint: "check HF_ENDPOINT points at a Hugging Face Hub", repo: repo.id, revision })
    return sha
  })

const safeRelative = (path: string): boolean => path !== "" && !path.startsWith("/") && !path.split("/").some((part) => part === ".." || part === "." || part === "")

/** Every file of the repo at `commit`, with the digest its bytes must have. */
export const listRepoFiles = (repo: HubRepo, commit: string, settings: HubSettings): Effect.Effect<readonly RemoteFile[], HubError> =>
  callHub({ repo, revision: commit, settings }, async (http) => {
    const out: RemoteFile[] = []
    for await (const entry of listFiles({ repo: repoDesignation(repo), revision: commit, recursive: true, hubUrl: settings.endpoint, fetch: http.fetch, ...credentials(settings) })) {
      if (entry.type !== "file") continue
      if (!safeRelative(entry.path)) throw new HubError({ reason: "http", message: `${repoDesignation(repo)}@${commit}: the listing names an unsafe path "${entry.path}"`, hint: "check HF_ENDPOINT points at a trusted Hugging Face Hub", repo: repo.id, revision: commit })
      if (entry.lfs !== undefined) out.push({ path: entry.path, size: entry.lfs.size, etag: entry.lfs.oid, digest: { algorithm: "sha256", hex: entry.lfs.oid } })
      else if (entry.oid !== undefined) out.push({ path: entry.path, size: entry.size, etag: entry.oid, digest: { algorithm: "git-sha1", hex: entry.oid } })
      else throw new HubError({ reason: "http", message: `${repoDesignation(repo)}@${commit}: the listing gives no digest for ${entry.path}`, hint: "check HF_ENDPOINT points at a Hugging Face Hub", repo: repo.id, revision: commit })
    }
    return out
  })
