// Versions of npm packages and of everything they depend on, read from the project's bun.lock
// (parsed with Bun's own JSONC parser). The lock file, not node_modules, is the source: it is the
// same on every machine, so a key computed from it is too.
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { describeIssues } from "../../schema/index.ts"

// An entry of bun.lock's "packages": ["name@version", registry, { dependencies, … }, integrity].
const Dependencies = z.record(z.string(), z.string()).optional()
const DependencyLists = z.looseObject({ dependencies: Dependencies, optionalDependencies: Dependencies, peerDependencies: Dependencies })
const LockPackage = z.union([z.tuple([z.string(), z.unknown(), DependencyLists], z.unknown()), z.tuple([z.string()], z.unknown())])
const BunLock = z.object({ packages: z.record(z.string(), LockPackage) })
type LockPackage = z.infer<typeof LockPackage>

export interface PackageLock {
  /** name → "name@version" for `roots` and every package they depend on, transitively. */
  readonly versionsOf: (roots: readonly string[]) => Record<string, string>
}

/** Splits a lock key "a/@b/c/d" into its package names ["a", "@b/c", "d"] (nested installs). */
const segments = (key: string): string[] => {
  const parts = key.split("/")
  const out: string[] = []
  for (let i = 0; i < parts.length; i++) out.push(parts[i]!.startsWith("@") ? `${parts[i]}/${parts[++i]}` : parts[i]!)
  return out
}

export class PackageLockError extends Error {
  override readonly name = "PackageLockError"
}

/**
 * The lock of the project at `root`: bun.lock when present; otherwise versions come from
 * node_modules/<name>/package.json (marked "(installed)"), or "unlocked" when neither knows.
 */
export const readPackageLock = (root: string): PackageLock => {
  const lockPath = join(root, "bun.lock")
  let packages: Record<string, LockPackage> = {}
  if (existsSync(lockPath)) {
    let parsed: unknown
    try {
      parsed = Bun.JSONC.parse(readFileSync(lockPath, "utf8"))
    } catch (e) {
      throw new PackageLockError(`${lockPath}: not valid JSONC (${(e as Error).message})`)
    }
    const lock = BunLock.safeParse(parsed)
    if (!lock.success) {
      throw new PackageLockError(`${lockPath}: expected a "packages" object of ["name@version", …] entries; ${describeIssues(lock.error, parsed, { schema: BunLock, max: 1 })}`)
    }
    packages = lock.data.packages
  }
  /** The lock key a dependency `dep` of the package at `from` resolves to (innermost install wins). */
  const resolveKey = (from: string | undefined, dep: string): string | undefined => {
    const path = from === undefined ? [] : segments(from)
    for (let n = path.length; n >= 0; n--) {
      const key = [...path.slice(0, n), dep].join("/")
      if (packages[key] !== undefined) return key
    }
    return undefined
  }
  const installed = (name: string): string => {
    try {
      const version = (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version?: unknown }).version
      return typeof version === "string" ? `${name}@${version} (installed)` : "unlocked"
    } catch {
      return "unlocked"
    }
  }
  return {
    versionsOf: (roots) => {
      const out: Record<string, string> = {}
      const visit = (from: string | undefined, name: string): void => {
        const key = resolveKey(from, name)
        // Keyed by lock path: two versions of one package nested under different parents both count.
        const label = key ?? name
        if (out[label] !== undefined) return
        if (key === undefined) {
          out[label] = installed(name)
          return
        }
        const entry = packages[key]!
        out[label] = entry[0]
        const deps = (entry.length >= 3 ? entry[2] : undefined) as z.infer<typeof DependencyLists> | undefined
        for (const list of [deps?.dependencies, deps?.optionalDependencies, deps?.peerDependencies]) {
          for (const dep of Object.keys(list ?? {}).sort()) {
            // An optional or peer dependency that is not installed is absent from the lock: nothing to record.
            if (resolveKey(key, dep) !== undefined || list === deps?.dependencies) visit(key, dep)
          }
        }
      }
      for (const name of [...roots].sort()) visit(undefined, name)
      return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    },
  }
}
