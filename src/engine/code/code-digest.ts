// A step's code digest: the sha256 of every project file its module reaches (module-graph.ts)
// and the lock-file versions of the npm packages on that path (package-versions.ts). It goes into
// the action key, so a cache filled by other code is never served as a hit.
//
// Cheap on a no-op re-run (bench/code-digest.ts): each module's closure is persisted in `stateDir`
// with every file's digest and stat (size, mtime, inode). A file whose stat is unchanged — and
// was not modified within a second of being hashed, the "racily clean" case — keeps its digest;
// any other file is hashed again. When every digest still matches, the closure is reused without
// the bundler (a changed file may have changed its imports, so then the bundler runs again).
// Package versions are kept with the stamp of the bun.lock they were read from. Records are
// compact text lines inside a small JSON object: validating thousands of JSON members cost more
// than the whole check (measured: 20–60 ms with zod vs ~1 ms for the same data as lines).
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import { z } from "zod"
import { sha256Hex } from "../../cache/canonical-json.ts"
import { sha256File } from "../../cache/file-digest.ts"
import { moduleClosures } from "./module-graph.ts"
import { type PackageLock, readPackageLock } from "./package-versions.ts"

export interface CodeDigest {
  /** Project-relative path (from the directory holding package.json) → sha256 of the file. */
  readonly files: Readonly<Record<string, string>>
  /** Lock path of each npm package on the path → "name@version". */
  readonly packages: Readonly<Record<string, string>>
}

export interface CodeDigester {
  /** Resolves the closures of `modules` (absolute paths), one bundler pass for all that changed. */
  readonly prepare: (modules: readonly string[]) => Promise<void>
  /** The digest of a prepared module. */
  readonly digestOf: (module: string) => CodeDigest
}

// kiln's engine, cache and CLI: every step imports them, none of them imports model code.
const ENGINE_DIR = dirname(import.meta.dir)
const HARNESS = ["engine", "cache", "store", "cli"].map((name) => join(dirname(ENGINE_DIR), name))

/** A file modified this close to its hashing may change again within the same mtime tick. */
const RACY_WINDOW_MS = 1000

/**
 * "<sha256> <size> <mtime ms> <inode> <hashed-at ms> <absolute path>". Plain-number stats: Bun's
 * bigint stat costs ~0.1–0.4 ms a call (measured), more than hashing a small source file; mtimeMs
 * keeps sub-millisecond digits, and String() of a double round-trips exactly.
 */
const STAMP = /^([0-9a-f]{64}) (\d+) ([\d.e+-]+) (\d+) ([\d.]+) (\/.*)$/
const PACKAGE = /^([^\s]+) ([^\s]+)$/
// Lines are checked against STAMP / PACKAGE as they are read; a malformed record is stale.
const Persisted = z.object({
  kilnCodeGraph: z.literal(4),
  module: z.string(),
  /** One STAMP line per project file in the closure. */
  files: z.string(),
  /** Packages the closure's files import, one name per line. */
  imports: z.string(),
  /** STAMP line of the project's bun.lock ("" when it has none) and the versions read from it. */
  lock: z.string(),
  /** "<lock path> <name@version>" lines. */
  packages: z.string(),
})
type Persisted = z.infer<typeof Persisted>

interface Stamp {
  readonly digest: string
  readonly line: string
}

/** The directory holding the nearest package.json above `file` (the project the module belongs to). */
export const projectRootOf = (file: string): string => {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir
    if (dirname(dir) === dir) return dirname(file)
  }
}

const lines = (text: string): string[] => (text === "" ? [] : text.split("\n"))

export const makeCodeDigester = (options: { readonly stateDir: string }): CodeDigester => {
  const closures = new Map<string, CodeDigest & { readonly abs: readonly string[] }>()
  const locks = new Map<string, PackageLock>()
  // Modules share most files: each is stamped once per process.
  const stamps = new Map<string, Stamp | undefined>()

  const hashNow = (path: string): Stamp | undefined => {
    const hashedAt = Date.now()
    const st = statSync(path, { throwIfNoEntry: false })
    if (st === undefined) return undefined
    const digest = sha256File(path)
    return { digest, line: `${digest} ${st.size} ${st.mtimeMs} ${st.ino} ${hashedAt} ${path}` }
  }
  /** The file's stamp: the recorded one when its stat is unchanged and not racy, else a fresh hash. */
  const stampOf = (path: string, recorded?: string): Stamp | undefined => {
    if (stamps.has(path)) return stamps.get(path)
    let stamp: Stamp | undefined
    const m = recorded !== undefined ? STAMP.exec(recorded) : null
    const st = m !== null ? statSync(path, { throwIfNoEntry: false }) : undefined
    if (m !== null && st !== undefined) {
      if (String(st.size) === m[2] && String(st.mtimeMs) === m[3] && String(st.ino) === m[4] && st.mtimeMs + RACY_WINDOW_MS <= Number(m[5])) stamp = { digest: m[1]!, line: recorded! }
    }
    stamp ??= hashNow(path)
    stamps.set(path, stamp)
    return stamp
  }
  const lockOf = (root: string): PackageLock => {
    let lock = locks.get(root)
    if (lock === undefined) locks.set(root, (lock = readPackageLock(root)))
    return lock
  }
  const statePath = (module: string) => join(options.stateDir, `${sha256Hex(module)}.json`)
  // Modules share a project and most files: each root and relative name is worked out once per process.
  const roots = new Map<string, string>()
  const rootOf = (module: string): string => {
    let root = roots.get(module)
    if (root === undefined) roots.set(module, (root = projectRootOf(module)))
    return root
  }
  const names = new Map<string, string>()
  const projectPath = (root: string, file: string): string => {
    const memo = `${root}\0${file}`
    let name = names.get(memo)
    if (name === undefined) {
      // Files inside the project are a plain suffix of their path; path.relative costs ~5 µs a call.
      name = file.startsWith(root + sep) ? file.slice(root.length + 1) : relative(root, file)
      names.set(memo, (name = name.split(sep).join("/")))
    }
    return name
  }

  const save = (record: Persisted): void => {
    // Only a shortcut for the next run: failing to write it costs one bundler pass, nothing more.
    try {
      mkdirSync(options.stateDir, { recursive: true })
      const path = statePath(record.module)
      const temp = `${path}.tmp-${process.pid}`
      writeFileSync(temp, JSON.stringify(record))
      renameSync(temp, path)
    } catch {}
  }
  const remember = (module: string, abs: readonly string[], digests: readonly string[], packages: Record<string, string>): void => {
    const root = rootOf(module)
    const files = Object.fromEntries(abs.map((file, i) => [projectPath(root, file), digests[i]!] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    closures.set(module, { files, packages, abs })
  }
  const record = (module: string, files: readonly string[], imports: readonly string[], packages: Record<string, string>): Persisted => ({
    kilnCodeGraph: 4,
    module,
    files: files.map((f) => stampOf(f)?.line ?? "").join("\n"),
    imports: imports.join("\n"),
    lock: stampOf(join(rootOf(module), "bun.lock"))?.line ?? "",
    packages: Object.entries(packages).map(([label, version]) => `${label} ${version}`).join("\n"),
  })

  /** Reuses the persisted closure when every file's digest is unchanged; true when it did. */
  const load = (module: string): boolean => {
    let persisted: Persisted
    try {
      const parsed = Persisted.safeParse(JSON.parse(readFileSync(statePath(module), "utf8")))
      if (!parsed.success || parsed.data.module !== module) return false
      persisted = parsed.data
    } catch {
      return false
    }
    const abs: string[] = []
    const digests: string[] = []
    // Whether any recorded line is out of date (a file re-hashed with the same digest): then it is saved again.
    let restamped = false
    for (const line of lines(persisted.files)) {
      const m = STAMP.exec(line)
      if (m === null) return false
      const now = stampOf(m[6]!, line)
      if (now === undefined || now.digest !== m[1]) return false
      if (now.line !== line) restamped = true
      abs.push(m[6]!)
      digests.push(m[1]!)
    }
    const root = rootOf(module)
    const lockLine = lines(persisted.lock)[0]
    const lockWas = lockLine !== undefined ? STAMP.exec(lockLine)?.[1] : ""
    const lockNow = stampOf(join(root, "bun.lock"), lockLine)
    const imports = lines(persisted.imports)
    const packageLines = lines(persisted.packages).map((l) => PACKAGE.exec(l))
    let packages: Record<string, string>
    let packagesReread = false
    if (lockWas !== undefined && (lockNow?.digest ?? "") === lockWas && packageLines.every((m) => m !== null)) {
      packages = Object.fromEntries(packageLines.map((m) => [m![1]!, m![2]!]))
    } else {
      // Same code, another lock file: only the package versions are read again.
      packages = lockOf(root).versionsOf(imports)
      packagesReread = true
    }
    // A no-op re-run writes nothing: the record is rebuilt only when a stamp or the versions moved.
    if (restamped || (lockNow?.line ?? "") !== (lockLine ?? "") || packagesReread) {
      const fresh = record(module, abs, imports, packages)
      if (fresh.files !== persisted.files || fresh.lock !== persisted.lock || fresh.packages !== persisted.packages) save(fresh)
    }
    remember(module, abs, digests, packages)
    return true
  }

  return {
    prepare: async (modules) => {
      const missing = [...new Set(modules)].filter((module) => !closures.has(module) && !load(module))
      if (missing.length === 0) return
      for (const [module, closure] of await moduleClosures(missing, HARNESS)) {
        const packages = lockOf(rootOf(module)).versionsOf(closure.packages)
        const persisted = record(module, closure.files, closure.packages, packages)
        save(persisted)
        remember(module, closure.files, closure.files.map((f) => stampOf(f)?.digest ?? ""), packages)
      }
    },
    digestOf: (module) => {
      const closure = closures.get(module)
      if (closure === undefined) throw new Error(`code digest of ${module} requested before prepare()`)
      return { files: closure.files, packages: closure.packages }
    },
  }
}
