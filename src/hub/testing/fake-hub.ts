// A local HTTP server that speaks the shape of the Hugging Face Hub's API, for tests and the
// download benchmark: repo info with the commit sha, recursive tree listings (paged with a Link
// header), resolve URLs that redirect LFS files to a storage path with X-Linked-ETag /
// X-Linked-Size / X-Repo-Commit, Range requests, gated and private repos, the Hub's X-Error-Code
// headers — and faults on demand: a reply cut off halfway, a reply that stops sending, corrupt bytes,
// a server that never answers.
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeFile {
  readonly bytes: Uint8Array
  /** Stored with Git LFS (listed with an lfs.oid sha256 and served from the storage path). */
  readonly lfs?: boolean
}

export interface FakeRepo {
  readonly type: "model" | "dataset"
  readonly id: string
  /** Commit sha → its files. */
  readonly commits: Record<string, Record<string, FakeFile>>
  /** Branch or tag → commit sha. */
  readonly refs: Record<string, string>
  readonly gated?: boolean
  readonly private?: boolean
}

export interface Faults {
  /** Repo path → bytes to send before the connection is dropped, applied once per path. */
  readonly cutOnce?: Map<string, number>
  /** Repo path → bytes to send before the reply stops sending (the connection stays open), applied once per path. */
  readonly stallOnce?: Map<string, number>
  /** Repo paths whose bytes are served with one byte flipped. */
  readonly corrupt?: Set<string>
  /** Never answer any request. */
  hang?: boolean
}

export interface LoggedRequest {
  readonly method: string
  readonly url: string
  readonly range: string | undefined
  readonly authorized: boolean
}

export interface FakeHub {
  readonly url: string
  readonly token: string
  readonly requests: LoggedRequest[]
  readonly faults: Faults & { cutOnce: Map<string, number>; stallOnce: Map<string, number>; corrupt: Set<string> }
  readonly close: () => Promise<void>
}

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")
export const gitOid = (bytes: Uint8Array): string => createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex")

const PAGE = 2

export const startFakeHub = async (repos: readonly FakeRepo[], options: { readonly token?: string } = {}): Promise<FakeHub> => {
  const token = options.token ?? "hf_testtoken"
  const requests: LoggedRequest[] = []
  const faults = { cutOnce: new Map<string, number>(), stallOnce: new Map<string, number>(), corrupt: new Set<string>(), hang: false }
  const byKey = new Map(repos.map((r) => [`${r.type}:${r.id}`, r]))
  const blobs = new Map<string, { bytes: Uint8Array; path: string }>()
  for (const repo of repos) for (const files of Object.values(repo.commits)) for (const [path, f] of Object.entries(files)) if (f.lfs === true) blobs.set(sha256Hex(f.bytes), { bytes: f.bytes, path })
  const hanging = new Set<ServerResponse>()

  const error = (res: ServerResponse, status: number, code: string | undefined, message: string) => {
    res.writeHead(status, { "content-type": "application/json", ...(code !== undefined ? { "x-error-code": code, "x-error-message": message } : {}) })
    res.end(JSON.stringify({ error: message }))
  }

  const sendBytes = (req: IncomingMessage, res: ServerResponse, path: string, bytes: Uint8Array, headers: Record<string, string>) => {
    let body = bytes
    if (faults.corrupt.has(path) && bytes.byteLength > 0) {
      body = bytes.slice()
      body[body.byteLength >> 1] = body[body.byteLength >> 1]! ^ 0xff
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "")
    let start = 0
    let end = body.byteLength - 1
    let status = 200
    if (range !== null) {
      start = Number(range[1])
      end = range[2] !== "" ? Math.min(Number(range[2]), end) : end
      status = 206
      if (start > end && body.byteLength > 0) {
        res.writeHead(416, { "content-range": `bytes */${body.byteLength}` })
        return res.end()
      }
    }
    const slice = body.subarray(start, end + 1)
    res.writeHead(status, {
      ...headers,
      "accept-ranges": "bytes",
      "content-length": String(slice.byteLength),
      ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${body.byteLength}` } : {}),
    })
    const cut = faults.cutOnce.get(path)
    if (cut !== undefined && slice.byteLength > 1 && range?.[2] !== "0") {
      faults.cutOnce.delete(path)
      res.write(slice.subarray(0, Math.min(cut, slice.byteLength - 1)), () => res.socket?.destroy())
      return
    }
    const stall = faults.stallOnce.get(path)
    if (stall !== undefined && slice.byteLength > 1 && range?.[2] !== "0") {
      faults.stallOnce.delete(path)
      hanging.add(res)
      res.write(slice.subarray(0, Math.min(stall, slice.byteLength - 1)))
      return
    }
    // Large bodies go out in chunks so the server never holds a second copy in its socket buffer.
    let offset = 0
    const CHUNK = 1 << 20
    const pumpOut = (): void => {
      while (offset < slice.byteLength) {
        const part = slice.subarray(offset, offset + CHUNK)
        offset += part.byteLength
        if (!res.write(part)) return void res.once("drain", pumpOut)
      }
      res.end()
    }
    pumpOut()
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake")
    const authorized = req.headers.authorization === `Bearer ${token}`
    requests.push({ method: req.method ?? "GET", url: url.pathname + url.search, range: req.headers.range, authorized })
    if (faults.hang) {
      hanging.add(res)
      return
    }
    const storage = /^\/storage\/([0-9a-f]{64})$/.exec(url.pathname)
    if (storage !== null) {
      const blob = blobs.get(storage[1]!)
      return blob === undefined ? error(res, 404, undefined, "no such object") : sendBytes(req, res, blob.path, blob.bytes, { etag: `"${storage[1]}"` })
    }
    const api = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(url.pathname)
    const resolve = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname)
    const type = api !== null ? (api[1] === "models" ? "model" : "dataset") : resolve !== null ? (resolve[1] !== undefined ? "dataset" : "model") : undefined
    const id = api?.[2] ?? resolve?.[2]
    const repo = type !== undefined ? byKey.get(`${type}:${id}`) : undefined
    if (type === undefined) return error(res, 404, undefined, "not found")
    if (repo === undefined || (repo.private === true && !authorized)) return error(res, 401, "RepoNotFound", "Repository not found")
    const rev = decodeURIComponent(api?.[4] ?? resolve![3]!)
    const commit = repo.refs[rev] ?? (repo.commits[rev] !== undefined ? rev : undefined)
    if (commit === undefined) return error(res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`)
    const files = repo.commits[commit]!
    if (api !== null && api[3] === "revision") {
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ _id: `id-${repo.id}`, id: repo.id, sha: commit, private: repo.private === true, gated: repo.gated === true ? "auto" : false, downloads: 0, likes: 0, lastModified: "2024-01-01T00:00:00.000Z", siblings: Object.keys(files).map((rfilename) => ({ rfilename })) }))
    }
    if (api !== null) {
      const entries = Object.entries(files)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([path, f]) => ({ type: "file", path, size: f.bytes.byteLength, oid: gitOid(f.bytes), ...(f.lfs === true ? { lfs: { oid: sha256Hex(f.bytes), size: f.bytes.byteLength, pointerSize: 134 } } : {}) }))
      const cursor = Number(url.searchParams.get("cursor") ?? "0")
      const page = entries.slice(cursor, cursor + PAGE)
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (cursor + PAGE < entries.length) {
        const next = new URL(`http://${req.headers.host}${url.pathname}`)
        next.search = url.search
        next.searchParams.set("cursor", String(cursor + PAGE))
        headers.link = `<${next.href}>; rel="next"`
      }
      res.writeHead(200, headers)
      return res.end(JSON.stringify(page))
    }
    const path = decodeURIComponent(resolve![4]!)
    if (repo.gated === true && !authorized) {
      return error(res, req.headers.authorization === undefined ? 401 : 403, "GatedRepo", `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`)
    }
    const file = files[path]
    if (file === undefined) return error(res, 404, "EntryNotFound", `${path} does not exist on "${rev}"`)
    const common = { "x-repo-commit": commit }
    if (file.lfs === true) {
      const oid = sha256Hex(file.bytes)
      res.writeHead(302, { ...common, location: `/storage/${oid}`, "x-linked-etag": `"${oid}"`, "x-linked-size": String(file.bytes.byteLength), etag: `"${gitOid(file.bytes)}"` })
      return res.end()
    }
    return sendBytes(req, res, path, file.bytes, { ...common, etag: `"${gitOid(file.bytes)}"` })
  }

  const server: Server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.socket?.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
