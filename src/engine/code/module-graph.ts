// The import closure of modules, from Bun's bundler metafile (no hand-written import parser):
// every project file an entry module reaches through static imports, `require` and dynamic
// imports with literal paths, and the npm packages those files import. Type-only imports are
// erased by the bundler, so they are not code the step runs. Traversal stops at `boundary`
// directories (kiln's engine, cache and CLI: the harness every step imports, which never imports
// model code — covered by the cache schema version instead).
import { isBuiltin } from "node:module"
import { resolve, sep } from "node:path"

export interface ModuleClosure {
  /** Absolute paths of the project files the entry reaches, itself included, sorted. */
  readonly files: readonly string[]
  /** Names of npm packages those files import (e.g. "onnxruntime-node", "@huggingface/transformers"), sorted. */
  readonly packages: readonly string[]
}

interface MetafileImport {
  readonly path: string
  readonly kind: string
  readonly external?: boolean
  readonly original?: string
}
interface Metafile {
  readonly inputs: Readonly<Record<string, { readonly imports: readonly MetafileImport[] }>>
}

/** "effect/Effect" → "effect", "@huggingface/transformers/x" → "@huggingface/transformers". */
export const packageOf = (specifier: string): string => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
}

const isBareSpecifier = (s: string): boolean => !s.startsWith(".") && !s.startsWith("/") && !/^[a-z]+:/i.test(s)

export class ModuleGraphError extends Error {
  override readonly name = "ModuleGraphError"
}

/** Import closures of `entries` (absolute paths), from one bundler pass over all of them. */
export const moduleClosures = async (entries: readonly string[], boundary: readonly string[]): Promise<Map<string, ModuleClosure>> => {
  const result = await Bun.build({ entrypoints: [...entries], target: "bun", packages: "external", metafile: true, throw: false })
  if (!result.success || result.metafile === undefined) {
    const why = result.logs.map((l) => l.message).join("; ")
    throw new ModuleGraphError(`cannot resolve the imports of ${entries.join(", ")}: ${why || "the bundler gave no metafile"}`)
  }
  // Metafile paths are relative to the working directory.
  const inputs = new Map(Object.entries((result.metafile as Metafile).inputs).map(([path, input]) => [resolve(path), input.imports]))
  const inBoundary = (file: string): boolean => boundary.some((dir) => file.startsWith(dir + sep))
  const closures = new Map<string, ModuleClosure>()
  for (const entry of entries) {
    const files = new Set<string>()
    const packages = new Set<string>()
    const visit = (file: string): void => {
      if (files.has(file) || inBoundary(file)) return
      files.add(file)
      for (const imp of inputs.get(file) ?? []) {
        if (imp.external === true) {
          const specifier = imp.original ?? imp.path
          if (isBareSpecifier(specifier) && !isBuiltin(specifier) && !specifier.startsWith("bun")) packages.add(packageOf(specifier))
        } else {
          visit(resolve(imp.path))
        }
      }
    }
    visit(resolve(entry))
    closures.set(entry, { files: [...files].sort(), packages: [...packages].sort() })
  }
  return closures
}
