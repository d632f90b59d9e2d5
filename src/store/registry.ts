// Remote stores by URL scheme: one line per store. `--remote-cache URL` / KILN_REMOTE_CACHE pick one.
import { httpStore } from "./http/http-store.ts"
import { s3Store } from "./s3/s3-store.ts"
import type { Store } from "./store.ts"

type Env = Record<string, string | undefined>

const stores: Record<string, (url: URL, env: Env) => Store | { readonly error: string }> = {
  "http:": (url, env) => httpStore(url, storeOptions(env)),
  "https:": (url, env) => httpStore(url, storeOptions(env)),
  "s3:": (url, env) => s3Store(url, storeOptions(env)),
}

/** KILN_REMOTE_CACHE_TIMEOUT (seconds without a response or a chunk) tunes every store. */
const storeOptions = (env: Env): { env: Env; timeoutMs?: number } => {
  const seconds = Number(env.KILN_REMOTE_CACHE_TIMEOUT)
  return { env, ...(env.KILN_REMOTE_CACHE_TIMEOUT !== undefined && seconds > 0 ? { timeoutMs: seconds * 1000 } : {}) }
}

export const supportedSchemes = (): string[] => Object.keys(stores).map((s) => s.replace(/:$/, ""))

/** The store a remote-cache URL names, or an error sentence naming the URL and what is accepted. */
export const openStore = (text: string, env: Env = process.env): Store | { readonly error: string } => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return { error: `--remote-cache ${text}: not a URL (expected e.g. https://cache.example.com/kiln)` }
  }
  const make = stores[url.protocol]
  if (make === undefined) return { error: `--remote-cache ${text}: unsupported scheme ${url.protocol.replace(/:$/, "")} (supported: ${supportedSchemes().join(", ")})` }
  const where = url.protocol === "s3:" ? "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" : "KILN_REMOTE_CACHE_BASIC or KILN_REMOTE_CACHE_TOKEN"
  if (url.username !== "" || url.password !== "") return { error: `--remote-cache: put credentials in ${where}, not in the URL (it is printed in logs)` }
  return make(url, env)
}
