// Test support: the real remote-cache servers the contract tests run against, behind one shape —
// nginx WebDAV (http://) and s3rver (s3://) — so each test is written once and runs on every store.
// A test sees the server through `kinds` (ac/, cas/ under its URL's prefix) to check or tamper
// with what a runner stored.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { nginxUnavailable, startNginx } from "./nginx.ts"
import { s3rverUnavailable, startS3rver } from "./s3rver.ts"

export type Kind = "ac" | "cas"

export interface RunningServer {
  /** A fresh prefix on the server, so tests do not see each other's entries. */
  readonly freshUrl: () => string
  /** What a runner needs in its environment to reach the server (besides the URL). */
  readonly env: Record<string, string>
  readonly list: (url: string, kind: Kind) => Promise<string[]>
  readonly read: (url: string, kind: Kind, name: string) => Promise<Uint8Array>
  readonly write: (url: string, kind: Kind, name: string, bytes: Uint8Array | string) => Promise<void>
  readonly remove: (url: string, kind: Kind, name: string) => Promise<void>
  readonly stop: () => Promise<void>
}

export interface TestServer {
  readonly name: string
  /** Why it cannot run here (the tests skip, saying so), or undefined. */
  readonly unavailable: string | undefined
  readonly start: (dir: string) => Promise<RunningServer>
}

const suffix = () => Math.random().toString(36).slice(2)

const nginx: TestServer = {
  name: "nginx WebDAV (http)",
  unavailable: nginxUnavailable(),
  start: async (dir) => {
    const server = await startNginx(dir)
    const at = (url: string, kind: Kind, name = "") => join(server.root, new URL(url).pathname, kind, name)
    return {
      freshUrl: () => `${server.url}/t${suffix()}`,
      env: {},
      list: async (url, kind) => (existsSync(at(url, kind)) ? readdirSync(at(url, kind)) : []),
      read: async (url, kind, name) => new Uint8Array(readFileSync(at(url, kind, name))),
      write: async (url, kind, name, bytes) => writeFileSync(at(url, kind, name), bytes),
      remove: async (url, kind, name) => rmSync(at(url, kind, name)),
      stop: server.stop,
    }
  },
}

const s3rver: TestServer = {
  name: "s3rver (s3)",
  unavailable: s3rverUnavailable(),
  start: async (dir) => {
    const server = await startS3rver(dir)
    const key = (url: string, kind: Kind, name = "") => `${new URL(url).pathname.replace(/^\/+|\/+$/g, "")}/${kind}/${name}`
    return {
      freshUrl: () => `${server.url}/t${suffix()}`,
      env: server.env,
      list: async (url, kind) => ((await server.client.list({ prefix: key(url, kind) })).contents ?? []).map((o) => o.key.split("/").pop()!),
      read: async (url, kind, name) => server.client.file(key(url, kind, name)).bytes(),
      write: async (url, kind, name, bytes) => void (await server.client.write(key(url, kind, name), bytes)),
      remove: async (url, kind, name) => server.client.delete(key(url, kind, name)),
      stop: server.stop,
    }
  },
}

export const testServers: readonly TestServer[] = [nginx, s3rver]
