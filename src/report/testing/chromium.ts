// Test support: opens a page in headless Chromium (Debian's `chromium`) over the DevTools
// protocol — no npm client, Bun's WebSocket — and returns what a report test checks: console
// errors and uncaught exceptions (including resources that failed to load), the drawn marks of
// every plot, and a full-page screenshot. Where Chromium is absent or cannot start, says why, so
// the test skips with that reason.
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const chromiumBinary = (): string | undefined => [process.env.KILN_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p): p is string => p !== undefined && p !== "" && existsSync(p))

const sandboxFlags = (): string[] => (process.getuid?.() === 0 ? ["--no-sandbox"] : [])

/** Why Chromium cannot start here (absent, or it fails to print a blank page), or undefined when it can. */
export const chromiumCannotStart = (): string | undefined => {
  const binary = chromiumBinary()
  if (binary === undefined) return "no Chromium here (/usr/bin/chromium; Debian package `chromium`, installed by .ci/run)"
  const profile = mkdtempSync(join(tmpdir(), "kiln-chromium-probe-"))
  try {
    const r = Bun.spawnSync([binary, ...sandboxFlags(), "--headless", "--disable-gpu", `--user-data-dir=${profile}`, "--dump-dom", "about:blank"], { timeout: 60_000, stdout: "pipe", stderr: "pipe" })
    if (r.exitCode === 0 && r.stdout.toString().includes("<html")) return undefined
    return `Chromium (${binary}) cannot start: exit ${r.exitCode ?? "(killed after 60 s)"}; ${r.stderr.toString().trim().split("\n").slice(-2).join(" | ")}`
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

export interface PageCheck {
  /** Console errors, uncaught exceptions and error log entries (e.g. a resource that failed to load). */
  readonly errors: readonly string[]
  /** Per `figure.kiln-plot`: its drawn data marks (shapes inside Plot's mark groups, axes and grids excluded) and its rendered width. */
  readonly plots: readonly { readonly marks: number; readonly width: number }[]
  readonly screenshot: Uint8Array
}

interface Cdp {
  readonly send: (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>
  readonly on: (method: string, listener: (params: Record<string, unknown>) => void) => void
  readonly close: () => void
}

const connect = (url: string): Promise<Cdp> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    let next = 1
    const pending = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void }>()
    const listeners = new Map<string, ((p: Record<string, unknown>) => void)[]>()
    ws.onmessage = (event) => {
      const msg = JSON.parse(String(event.data)) as { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string } }
      if (msg.id !== undefined) {
        const p = pending.get(msg.id)
        pending.delete(msg.id)
        if (msg.error !== undefined) p?.fail(new Error(msg.error.message))
        else p?.ok(msg.result ?? {})
      } else if (msg.method !== undefined) for (const l of listeners.get(msg.method) ?? []) l(msg.params ?? {})
    }
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`))
    ws.onopen = () =>
      resolve({
        send: (method, params = {}) =>
          new Promise((ok, fail) => {
            const id = next++
            pending.set(id, { ok, fail })
            ws.send(JSON.stringify({ id, method, params }))
          }),
        on: (method, listener) => listeners.set(method, [...(listeners.get(method) ?? []), listener]),
        close: () => ws.close(),
      })
  })

/** Reads the browser's stderr until it names its DevTools endpoint (or gives up after `ms`). */
const devtoolsEndpoint = async (stderr: ReadableStream<Uint8Array>, ms: number): Promise<{ readonly url?: string; readonly seen: string }> => {
  const reader = stderr.getReader()
  const decoder = new TextDecoder()
  let seen = ""
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)])
    if (chunk === undefined || chunk.done) break
    seen += decoder.decode(chunk.value)
    const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen)
    if (match !== null) {
      reader.releaseLock()
      return { url: match[1]!, seen }
    }
  }
  reader.releaseLock()
  return { seen }
}

// Plot draws each mark as a <g aria-label="…"> of shapes; axes, ticks and grids are marks too.
const MARKS_SCRIPT = `JSON.stringify([...document.querySelectorAll("figure.kiln-plot")].map((f) => {
  const groups = [...f.querySelectorAll("svg g[aria-label]")].filter((g) => !/axis|grid|tick/.test(g.getAttribute("aria-label")))
  const marks = groups.reduce((n, g) => n + g.querySelectorAll("rect,circle,path,line,text").length, 0)
  // A legend's swatches are small svgs of their own: the plot is the widest.
  const width = Math.max(0, ...[...f.querySelectorAll("svg")].map((s) => s.getBoundingClientRect().width))
  return { marks, width }
}))`

/** Opens `url` and checks it; `{ skip }` when Chromium cannot be started here. */
export const checkPage = async (url: string, options: { readonly timeoutMs?: number } = {}): Promise<PageCheck | { readonly skip: string }> => {
  const binary = chromiumBinary()
  if (binary === undefined) return { skip: "no Chromium here (/usr/bin/chromium; Debian package `chromium`, installed by .ci/run)" }
  const profile = mkdtempSync(join(tmpdir(), "kiln-chromium-"))
  const args = ["--headless", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "--window-size=1100,900", "about:blank"]
  // Chromium's sandbox refuses to run as root.
  args.unshift(...sandboxFlags())
  const proc = Bun.spawn([binary, ...args], { stdout: "ignore", stderr: "pipe" })
  const timeout = options.timeoutMs ?? 60_000
  try {
    const endpoint = await devtoolsEndpoint(proc.stderr, timeout)
    if (endpoint.url === undefined) return { skip: `Chromium (${binary}) did not start: ${endpoint.seen.trim().split("\n").slice(-3).join(" | ") || "no output"}` }
    const http = endpoint.url.replace(/^ws:\/\/([^/]+)\/.*$/, "http://$1")
    const targets = (await (await fetch(`${http}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[]
    const page = targets.find((t) => t.type === "page")
    if (page === undefined) return { skip: "Chromium started without a page to drive" }
    const cdp = await connect(page.webSocketDebuggerUrl)
    try {
      const errors: string[] = []
      cdp.on("Runtime.consoleAPICalled", (p) => {
        if (p.type === "error" || p.type === "assert") errors.push(`console.${String(p.type)}: ${JSON.stringify(p.args)}`)
      })
      cdp.on("Runtime.exceptionThrown", (p) => errors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`))
      cdp.on("Log.entryAdded", (p) => {
        const entry = p.entry as { level: string; text: string; url?: string }
        if (entry.level === "error") errors.push(`${entry.text}${entry.url !== undefined ? ` (${entry.url})` : ""}`)
      })
      const loaded = new Promise<void>((resolve) => cdp.on("Page.loadEventFired", () => resolve()))
      await cdp.send("Runtime.enable")
      await cdp.send("Log.enable")
      await cdp.send("Page.enable")
      await cdp.send("Page.navigate", { url })
      await Promise.race([loaded, Bun.sleep(timeout).then(() => Promise.reject(new Error(`${url} did not load within ${timeout} ms`)))])
      const evaluated = await cdp.send("Runtime.evaluate", { expression: MARKS_SCRIPT, returnByValue: true })
      const plots = JSON.parse(String((evaluated.result as { value: unknown }).value)) as PageCheck["plots"]
      const shot = await cdp.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true })
      return { errors, plots, screenshot: Uint8Array.from(Buffer.from(String(shot.data), "base64")) }
    } finally {
      cdp.close()
    }
  } finally {
    proc.kill()
    await proc.exited
    rmSync(profile, { recursive: true, force: true })
  }
}
