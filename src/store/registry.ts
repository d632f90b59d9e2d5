// Remote stores by URL scheme: one line per store. `--remote-cache URL` / KILN_REMOTE_CACHE pick one.
import { httpStore, type HttpStoreOptions } from "./http/http-store.ts"
import type { Store } from "./store.ts"

type Env = Record<string, string | undefined>

const stores: Record<string, (url: URL, env: Env) => Store> = {
  "http:": (url, env) => httpStore(url, httpOptions(env)),
  "https:": (url, env) => httpStore(url, httpOptions(env)),
}

/** KILN_REMOTE_CACHE_TIMEOUT (seconds without a response or a chunk) tunes the HTTP store. */
const httpOptions = (env: Env): HttpStoreOptions => {
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
  if (url.username !== "" || url.password !== "") return { error: `--remote-cache: put credentials in KILN_REMOTE_CACHE_BASIC or KILN_REMOTE_CACHE_TOKEN, not in the URL (it is printed in logs)` }
  return make(url, env)
}
