// Where the Hub is and how to talk to it, read once from the environment the way Python's
// huggingface_hub reads it: HF_ENDPOINT, HF_TOKEN (else the token file `huggingface-cli login`
// writes), HF_HUB_OFFLINE, and the cache folder HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
import { existsSync, readFileSync } from "node:fs"
import { homedir } from "node:os"
import { join } from "node:path"

export interface HubSettings {
  /** Base URL of the Hub, without a trailing slash. */
  readonly endpoint: string
  readonly token: string | undefined
  readonly offline: boolean
  /** The shared cache folder (models--ORG--NAME/{blobs,refs,snapshots}). */
  readonly cacheDir: string
  /** How long to wait for a response to start, or for the next bytes of a body, before giving up. */
  readonly timeoutMs: number
  /** Files downloaded at once. */
  readonly concurrency: number
  /** Download attempts per file; each retry resumes from the bytes already on disk. */
  readonly attempts: number
}

const truthy = (value: string | undefined): boolean => value !== undefined && ["1", "on", "yes", "true"].includes(value.trim().toLowerCase())

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === "" ? undefined : value.trim())

export const hubSettingsFromEnv = (env: Record<string, string | undefined> = process.env, overrides: Partial<HubSettings> = {}): HubSettings => {
  const hfHome = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(homedir(), ".cache"), "huggingface")
  const tokenFile = nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome, "token")
  const storedToken = existsSync(tokenFile) ? nonEmpty(readFileSync(tokenFile, "utf8")) : undefined
  return {
    endpoint: (nonEmpty(env.HF_ENDPOINT) ?? "https://huggingface.co").replace(/\/+$/, ""),
    token: nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN) ?? storedToken,
    offline: truthy(env.HF_HUB_OFFLINE),
    cacheDir: nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE) ?? join(hfHome, "hub"),
    timeoutMs: 30_000,
    concurrency: 4,
    attempts: 5,
    ...overrides,
  }
}
