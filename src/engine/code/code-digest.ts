// A step's code digest: the sha256 of every project file its module reaches (module-graph.ts)
// and the lock-file versions of the npm packages on that path (package-versions.ts). It goes into
// the action key, so a cache filled by other code is never served as a hit.
//
// Cheap on a no-op re-run: each module's import closure is persisted in `stateDir` together with
// the digest of every file in it; when every file still has that digest (read through the stat
// memo, so unchanged files are not re-hashed) the closure is reused without running the bundler.
// A changed file may have changed its imports, so then the bundler resolves the closure again.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import { z } from "zod"
import { sha256Hex } from "../../cache/canonical-json.ts"
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

export interface FileDigests {
  readonly digestOf: (path: string) => { readonly digest: string }
}

// kiln's engine, cache and CLI: every step imports them, none of them imports model code.
const ENGINE_DIR = dirname(import.meta.dir)
const HARNESS = ["engine", "cache", "cli"].map((name) => join(dirname(ENGINE_DIR), name))

const Persisted = z.object({
  kilnCodeGraph: z.literal(1),
  module: z.string(),
  files: z.record(z.string(), z.string()),
  packages: z.array(z.string()),
})
type Persisted = z.infer<typeof Persisted>

/** The directory holding the nearest package.json above `file` (the project the module belongs to). */
export const projectRootOf = (file: string): string => {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir
    if (dirname(dir) === dir) return dirname(file)
  }
}

export const makeCodeDigester = (options: { readonly files: FileDigests; readonly stateDir: string }): CodeDigester => {
  const closures = new Map<string, Persisted>()
  const locks = new Map<string, PackageLock>()
  const statePath = (module: string) => join(options.stateDir, `${sha256Hex(module)}.json`)

  const stillValid = (record: Persisted): boolean => {
    for (const [file, digest] of Object.entries(record.files)) {
      if (!existsSync(file) || options.files.digestOf(file).digest !== digest) return false
    }
    return true
  }
  const load = (module: string): Persisted | undefined => {
    try {
      const parsed = Persisted.safeParse(JSON.parse(readFileSync(statePath(module), "utf8")))
      return parsed.success && parsed.data.module === module && stillValid(parsed.data) ? parsed.data : undefined
    } catch {
      return undefined
    }
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

  return {
    prepare: async (modules) => {
      const missing: string[] = []
      for (const module of new Set(modules)) {
        if (closures.has(module)) continue
        const record = load(module)
        if (record !== undefined) closures.set(module, record)
        else missing.push(module)
      }
      if (missing.length === 0) return
      for (const [module, closure] of await moduleClosures(missing, HARNESS)) {
        const files = Object.fromEntries(closure.files.map((file) => [file, options.files.digestOf(file).digest]))
        const record: Persisted = { kilnCodeGraph: 1, module, files, packages: [...closure.packages] }
        closures.set(module, record)
        save(record)
      }
    },
    digestOf: (module) => {
      const record = closures.get(module)
      if (record === undefined) throw new Error(`code digest of ${module} requested before prepare()`)
      const root = projectRootOf(module)
      let lock = locks.get(root)
      if (lock === undefined) locks.set(root, (lock = readPackageLock(root)))
      const files = Object.fromEntries(
        Object.entries(record.files)
          .map(([file, digest]) => [relative(root, file).split(sep).join("/"), digest] as const)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      )
      return { files, packages: lock.versionsOf(record.packages) }
    },
  }
}
