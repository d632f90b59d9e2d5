// Parses a pipeline file's command line (`bun run pipelines/x.ts --dry-run …`) into run options.
// Bad flags produce a usage error naming the flag; nothing runs.
import { parseArgs } from "node:util"
import { PipelineDefinitionError } from "../engine/errors.ts"

export interface RunArgs {
  readonly help: boolean
  readonly dryRun: boolean
  readonly force: readonly string[]
  readonly until: string | undefined
  readonly set: ReadonlyMap<string, Record<string, unknown>>
  readonly jobs: number
  /** Accelerator dies to use (--devices 0,1; default VACC_VISIBLE_DEVICES, else one die). */
  readonly devices: readonly number[] | undefined
  readonly cacheDir: string | undefined
  readonly frozen: boolean
  readonly verify: boolean
  readonly graph: boolean
  readonly json: boolean
  /** --remote-cache URL (else $KILN_REMOTE_CACHE); undefined with --no-remote. */
  readonly remoteCache: string | undefined
  /** Upload what ran: "auto" = when KILN_CACHE_SIGNING_KEY is set; --remote-upload "on"; --remote-read-only "off". */
  readonly remoteUpload: "auto" | "on" | "off"
  /** --executor URL (else $KILN_EXECUTOR): run cache misses on workers (redis://… for BullMQ); undefined: in this process. */
  readonly executor: string | undefined
}

export const RUN_USAGE = `Usage: bun run <pipeline file> [options]

Runs the pipeline, skipping every step whose inputs did not change.

Options:
  --dry-run               show each node: cached, or will run and why; run nothing
  --force <node>|all      run a node (or every node) even when cached; repeatable
  --until <node>          run only this node and what it depends on
  --set <node>.<param>=<value>
                          override a param (value parsed as JSON, else taken as text); repeatable
  --jobs N                CPU-heavy steps run at once (default: 1)
  --devices 0,1           accelerator dies device steps may use, one step per die
                          (default: $VACC_VISIBLE_DEVICES, else one die)
  --cache-dir DIR         cache root (default: $KILN_CACHE_DIR, else ~/.cache/kiln)
  --frozen                fail when any node's key or output differs from the lock file
  --verify                re-hash cached blobs before serving them
  --graph                 print the pipeline graph as Mermaid and exit
  --json                  print one JSON summary object as the last line of stdout
  --remote-cache URL      a shared cache under the local one (default: $KILN_REMOTE_CACHE):
                          http(s)://host/prefix in Bazel's layout (cas/, ac/); entries are
                          signed and checked with $KILN_CACHE_SIGNING_KEY; credentials from
                          $KILN_REMOTE_CACHE_TOKEN (bearer) or $KILN_REMOTE_CACHE_BASIC (user:password)
  --remote-upload         upload what ran (the default when $KILN_CACHE_SIGNING_KEY is set)
  --remote-read-only      read the remote cache, never write it (e.g. pull-request jobs)
  --no-remote             ignore --remote-cache and $KILN_REMOTE_CACHE
  --executor URL          run steps on workers (default: $KILN_EXECUTOR): redis://host:6379
                          queues each cache miss for \`bun run kiln worker\` processes
                          (BullMQ); artifacts travel through --remote-cache
  --help                  show this help`

const usageError = (message: string) => new PipelineDefinitionError({ message, hint: "see --help" })

/** `node.param=value` or `node.a.b=value` → node id and a nested override object. */
export const parseSet = (text: string, into: Map<string, Record<string, unknown>>): void => {
  const eq = text.indexOf("=")
  const dot = text.indexOf(".")
  if (eq < 0 || dot < 0 || dot > eq || dot === 0 || dot === eq - 1) {
    throw usageError(`--set ${text}: expected <node>.<param>=<value>, e.g. --set exportOnnx.seqlen=512`)
  }
  const node = text.slice(0, dot)
  const path = text.slice(dot + 1, eq).split(".")
  const raw = text.slice(eq + 1)
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    value = raw
  }
  const root = into.get(node) ?? {}
  let cursor: Record<string, unknown> = root
  for (const [i, part] of path.entries()) {
    if (part === "") throw usageError(`--set ${text}: empty param name`)
    if (i === path.length - 1) cursor[part] = value
    else {
      const next = cursor[part]
      cursor = (cursor[part] = typeof next === "object" && next !== null ? next : {}) as Record<string, unknown>
    }
  }
  into.set(node, root)
}

export const parseRunArgs = (argv: readonly string[], env: Record<string, string | undefined> = process.env): RunArgs => {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        "dry-run": { type: "boolean" },
        force: { type: "string", multiple: true },
        until: { type: "string" },
        set: { type: "string", multiple: true },
        jobs: { type: "string" },
        devices: { type: "string" },
        "cache-dir": { type: "string" },
        frozen: { type: "boolean" },
        verify: { type: "boolean" },
        graph: { type: "boolean" },
        json: { type: "boolean" },
        "remote-cache": { type: "string" },
        "remote-upload": { type: "boolean" },
        "remote-read-only": { type: "boolean" },
        "no-remote": { type: "boolean" },
        executor: { type: "string" },
      },
    })
  } catch (e) {
    throw usageError((e as Error).message)
  }
  const v = parsed.values
  const jobs = v.jobs === undefined ? 1 : Number(v.jobs)
  if (!Number.isInteger(jobs) || jobs < 1) throw usageError(`--jobs ${v.jobs}: expected a positive integer`)
  const set = new Map<string, Record<string, unknown>>()
  for (const s of v.set ?? []) parseSet(s, set)
  const devicesText = v.devices ?? process.env.VACC_VISIBLE_DEVICES
  const devices = devicesText === undefined || devicesText.trim() === "" ? undefined : devicesText.split(",").map((d) => d.trim())
  if (devices !== undefined && devices.some((d) => !/^\d+$/.test(d))) throw usageError(`--devices ${devicesText}: expected die ids separated by commas, e.g. 0,1`)
  if (v["remote-upload"] === true && v["remote-read-only"] === true) throw usageError("--remote-upload and --remote-read-only contradict each other: choose one")
  const remoteText = v["remote-cache"] ?? env.KILN_REMOTE_CACHE
  return {
    help: v.help ?? false,
    dryRun: v["dry-run"] ?? false,
    force: v.force ?? [],
    until: v.until,
    set,
    jobs,
    devices: devices === undefined ? undefined : [...new Set(devices.map(Number))],
    cacheDir: v["cache-dir"],
    frozen: v.frozen ?? false,
    verify: v.verify ?? false,
    graph: v.graph ?? false,
    json: v.json ?? false,
    remoteCache: v["no-remote"] === true || remoteText === undefined || remoteText.trim() === "" ? undefined : remoteText.trim(),
    remoteUpload: v["remote-read-only"] === true ? "off" : v["remote-upload"] === true ? "on" : "auto",
    executor: (v.executor ?? env.KILN_EXECUTOR)?.trim() || undefined,
  }
}
