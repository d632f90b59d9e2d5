// Finds the VastAI toolchain and reads its versions (vendor-toolchain.md §1, §2, §5): `vamc` and
// `vamp` (KILN_VAMC / KILN_VAMP, else PATH), a Python that imports vaststreamx (KILN_VSX_PYTHON,
// else python3 on PATH), the SDK version file (KILN_VASTSTREAM_DIR, default /opt/vastai/vaststream),
// the driver version and the dies (KILN_VACC_DEV_DIR, default /dev: /dev/vastai<N>_version, one per
// die — inferred from the vendor's `cat /dev/vastai0_version`), filtered by VACC_VISIBLE_DEVICES.
//
// Discovery is synchronous (spawnSync) because a step's fingerprint — which must hold every tool
// version — is computed synchronously by the engine; it only runs `--version`-style probes. The
// long-running tools (vamc compile, vamp, the runner) run through effect/process.
import { spawnSync } from "node:child_process"
import { accessSync, constants, readdirSync, readFileSync } from "node:fs"
import { delimiter, join } from "node:path"
import { TargetError } from "../errors.ts"

export interface FoundTool {
  readonly path: string
  /** As the tool reports it; "(stand-in)" versions say so. */
  readonly version: string
  readonly standIn: boolean
  /** How the version was read, e.g. "vamc --version". */
  readonly versionFrom: string
}

export interface VaccToolchain {
  readonly vamc: FoundTool
  readonly vamp: FoundTool
  /** A Python whose `import vaststreamx` works; version = vaststreamx's. */
  readonly python: FoundTool & { readonly module: string }
  readonly sdkVersion: string | null
  readonly driverVersion: string | null
  /** Die ids visible to kiln. */
  readonly devices: readonly number[]
}

/** What discovery found or why not, per component (doctor prints this). */
export type Probe<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: TargetError }

export interface ToolchainReport {
  readonly vamc: Probe<FoundTool>
  readonly vamp: Probe<FoundTool>
  readonly python: Probe<FoundTool & { readonly module: string }>
  readonly sdkVersion: string | null
  readonly sdkVersionFile: string
  readonly driverVersion: string | null
  readonly devices: readonly number[]
  readonly deviceDir: string
}

type Env = Readonly<Record<string, string | undefined>>

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const onPath = (name: string, env: Env): { found: string | null; dirs: string[] } => {
  const dirs = (env.PATH ?? "").split(delimiter).filter((d) => d !== "")
  for (const dir of dirs) if (isExecutable(join(dir, name))) return { found: join(dir, name), dirs }
  return { found: null, dirs }
}

const run = (file: string, args: readonly string[], env: Env): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(file, args, { env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 30_000 })
  return { code: r.error ? null : r.status, stdout: r.stdout ?? "", stderr: r.error ? r.error.message : (r.stderr ?? "") }
}

const tail = (text: string): string => text.trim().split("\n").slice(-3).join(" | ")

const locate = (tool: "vamc" | "vamp", envVar: string, env: Env, hint: string): string => {
  const explicit = env[envVar]
  if (explicit !== undefined && explicit !== "") {
    if (isExecutable(explicit)) return explicit
    throw new TargetError({ target: "vacc", reason: "tool-missing", message: `${tool}: ${envVar}=${explicit} is not an executable file`, hint: `point ${envVar} at the ${tool} executable` })
  }
  const { found, dirs } = onPath(tool, env)
  if (found !== null) return found
  throw new TargetError({
    target: "vacc",
    reason: "tool-missing",
    message: `${tool} not found: ${envVar} is unset and no ${tool} is on PATH (${dirs.join(delimiter) || "empty"})`,
    hint: `${hint}, or set ${envVar}=/path/to/${tool}; without a card, use kiln's stand-ins: eval "$(bun run kiln doctor --stand-ins)"`,
  })
}

/** First line of `<tool> --version`; for vamc (a Python wheel) the package version from its own interpreter when that fails (inferred: no vendor source shows `vamc --version`). */
const toolVersion = (tool: "vamc" | "vamp", path: string, env: Env, sdkVersion: string | null): FoundTool => {
  const r = run(path, ["--version"], env)
  const line = r.stdout.trim().split("\n")[0]?.trim() ?? ""
  if (r.code === 0 && line !== "") return { path, version: line, standIn: /stand-in/i.test(line), versionFrom: `${tool} --version` }
  if (tool === "vamc") {
    const shebang = readFileSync(path, "utf8").slice(0, 256).split("\n")[0] ?? ""
    const python = shebang.startsWith("#!") ? shebang.slice(2).trim().split(/\s+/)[0] : undefined
    if (python !== undefined && /python/.test(python)) {
      const m = run(python, ["-c", "import importlib.metadata as m; print(m.version('vamc'))"], env)
      if (m.code === 0 && m.stdout.trim() !== "") return { path, version: `vamc ${m.stdout.trim()}`, standIn: false, versionFrom: `${python}: importlib.metadata.version('vamc')` }
    }
  }
  if (tool === "vamp" && sdkVersion !== null) return { path, version: `vamp of SDK ${sdkVersion}`, standIn: false, versionFrom: "the SDK version file (vamp --version failed)" }
  throw new TargetError({
    target: "vacc",
    reason: "tool-failed",
    message: `${tool} at ${path}: could not read its version: \`${tool} --version\` exited ${r.code ?? "abnormally"}${r.stderr.trim() ? ` (${tail(r.stderr)})` : ""}${tool === "vamc" ? " and the vamc wheel's metadata was not readable through its interpreter" : " and no SDK version file was found"}`,
    hint: "kiln puts every tool version into the cache key; check that the tool runs in this environment (source /opt/vastai/vaststream/set_env.sh)",
  })
}

const PROBE = `
import json, sys
try:
    import vaststreamx as vsx
except Exception as e:
    print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
    sys.exit(0)
v = getattr(vsx, "__version__", None)
if v is None:
    try:
        import importlib.metadata as md
        v = md.version("vaststreamx")
    except Exception:
        v = None
print(json.dumps({"ok": True, "version": v, "module": getattr(vsx, "__file__", None) or "?", "standIn": bool(getattr(vsx, "KILN_STAND_IN", False))}))
`

const findPython = (env: Env): FoundTool & { module: string } => {
  const explicit = env.KILN_VSX_PYTHON
  const candidates = explicit !== undefined && explicit !== "" ? [explicit] : (["python3", "python"].map((n) => onPath(n, env).found).filter((p) => p !== null) as string[])
  if (candidates.length === 0) {
    throw new TargetError({ target: "vacc", reason: "tool-missing", message: "no Python found: KILN_VSX_PYTHON is unset and neither python3 nor python is on PATH", hint: "set KILN_VSX_PYTHON to the Python of the vendor's deploy environment (the one with vaststreamx installed)" })
  }
  const failures: string[] = []
  for (const python of candidates) {
    const r = run(python, ["-c", PROBE], env)
    let probe: { ok: boolean; version?: string | null; module?: string; standIn?: boolean; error?: string } | undefined
    try {
      probe = JSON.parse(r.stdout.trim().split("\n").pop() ?? "")
    } catch {
      failures.push(`${python}: exited ${r.code ?? "abnormally"}${r.stderr.trim() ? ` (${tail(r.stderr)})` : ""}`)
      continue
    }
    if (probe?.ok !== true) {
      failures.push(`${python}: import vaststreamx failed (${probe?.error ?? "?"})`)
      continue
    }
    if (typeof probe.version !== "string" || probe.version === "")
      throw new TargetError({ target: "vacc", reason: "tool-failed", message: `${python}: vaststreamx imports but reports no version (no __version__, no package metadata)`, hint: "install vaststreamx from the vendor's wheel so its version is recorded" })
    return { path: python, version: `vaststreamx ${probe.version}`, standIn: probe.standIn === true, versionFrom: "vaststreamx.__version__ / package metadata", module: probe.module ?? "?" }
  }
  throw new TargetError({
    target: "vacc",
    reason: "tool-missing",
    message: `no Python that imports vaststreamx: ${failures.join("; ")}`,
    hint: `set KILN_VSX_PYTHON to the Python of the vendor's deploy environment (conda env "deploy" in their Docker image); without a card: eval "$(bun run kiln doctor --stand-ins)"`,
  })
}

const readTrimmed = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8").trim() || null
  } catch {
    return null
  }
}

/** Die ids with a `vastai<N>_version` file under the device dir, filtered by VACC_VISIBLE_DEVICES. */
export const visibleDevices = (env: Env): { devices: number[]; deviceDir: string } => {
  const deviceDir = env.KILN_VACC_DEV_DIR || "/dev"
  let present: number[] = []
  try {
    present = readdirSync(deviceDir)
      .map((f) => /^vastai(\d+)_version$/.exec(f)?.[1])
      .filter((d): d is string => d !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
  } catch {
    present = []
  }
  const visible = env.VACC_VISIBLE_DEVICES
  if (visible === undefined || visible.trim() === "") return { devices: present, deviceDir }
  const wanted = parseDeviceList(visible, "VACC_VISIBLE_DEVICES")
  return { devices: present.filter((d) => wanted.includes(d)), deviceDir }
}

/** "0,1" → [0, 1]; anything else is an error naming where the list came from. */
export const parseDeviceList = (text: string, from: string): number[] => {
  const parts = text.split(",").map((s) => s.trim())
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new TargetError({ target: "vacc", reason: "bad-config", message: `${from}=${text}: expected die ids separated by commas, e.g. 0,1` })
  return [...new Set(parts.map(Number))]
}

const probe = <T>(f: () => T): Probe<T> => {
  try {
    return { ok: true, value: f() }
  } catch (error) {
    if (error instanceof TargetError) return { ok: false, error }
    throw error
  }
}

/** Everything discovery can say, without failing (for doctor and for `target: "auto"`). */
export const probeToolchain = (env: Env = process.env): ToolchainReport => {
  const sdkVersionFile = join(env.KILN_VASTSTREAM_DIR || "/opt/vastai/vaststream", "version.txt")
  const sdkVersion = readTrimmed(sdkVersionFile)
  const { devices, deviceDir } = visibleDevices(env)
  const driverVersion = devices.length > 0 ? readTrimmed(join(deviceDir, `vastai${devices[0]}_version`)) : null
  return {
    vamc: probe(() => toolVersion("vamc", locate("vamc", "KILN_VAMC", env, "install the vamc wheel (pip install vamc-<version>.whl) into this environment"), env, sdkVersion)),
    vamp: probe(() => toolVersion("vamp", locate("vamp", "KILN_VAMP", env, "install the VastStream SDK and source /opt/vastai/vaststream/set_env.sh"), env, sdkVersion)),
    python: probe(() => findPython(env)),
    sdkVersion,
    sdkVersionFile,
    driverVersion,
    devices,
    deviceDir,
  }
}

const cache = new Map<string, ToolchainReport>()
const KEYS = ["PATH", "KILN_VAMC", "KILN_VAMP", "KILN_VSX_PYTHON", "KILN_VASTSTREAM_DIR", "KILN_VACC_DEV_DIR", "VACC_VISIBLE_DEVICES", "PYTHONPATH"] as const

/** probeToolchain, remembered per relevant environment for the life of the process. */
export const probeToolchainCached = (env: Env = process.env): ToolchainReport => {
  const key = JSON.stringify(KEYS.map((k) => env[k] ?? null))
  let report = cache.get(key)
  if (report === undefined) cache.set(key, (report = probeToolchain(env)))
  return report
}

/** The whole toolchain, or the first missing piece as a TargetError naming it and the fix. */
export const requireToolchain = (env: Env = process.env): VaccToolchain => {
  const r = probeToolchainCached(env)
  for (const p of [r.vamc, r.vamp, r.python]) if (!p.ok) throw p.error
  if (r.devices.length === 0) {
    throw new TargetError({
      target: "vacc",
      reason: "device-unavailable",
      message: `no VastAI die found: no vastai<N>_version under ${r.deviceDir}${env.VACC_VISIBLE_DEVICES ? ` among VACC_VISIBLE_DEVICES=${env.VACC_VISIBLE_DEVICES}` : ""}`,
      hint: "check the driver (ls /dev/vastai*) and that the container runs --privileged; set KILN_VACC_DEV_DIR if the device files live elsewhere",
    })
  }
  return {
    vamc: (r.vamc as { value: FoundTool }).value,
    vamp: (r.vamp as { value: FoundTool }).value,
    python: (r.python as { value: FoundTool & { module: string } }).value,
    sdkVersion: r.sdkVersion,
    driverVersion: r.driverVersion,
    devices: r.devices,
  }
}

/** What goes into the cache key of a step that uses the toolchain. */
export const toolchainFingerprint = (t: VaccToolchain): Record<string, string> => ({
  vamc: t.vamc.version,
  vamp: t.vamp.version,
  vaststreamx: t.python.version,
  sdk: t.sdkVersion ?? "none",
  driver: t.driverVersion ?? "none",
})

