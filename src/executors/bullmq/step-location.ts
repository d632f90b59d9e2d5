// Where a worker finds a step: its module relative to the project root (the nearest folder up
// from the module holding package.json — the same root code digests name files from) and the
// export holding it. Both sides resolve it against their own checkout, so paths are portable.
import { existsSync } from "node:fs"
import { dirname, join, relative, sep } from "node:path"
import type { AnyStep } from "../../engine/index.ts"

export const projectRoot = (file: string): string | undefined => {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir
    if (dirname(dir) === dir) return undefined
  }
}

/** The step's module and export, or why a worker could not load it. */
export const locateStep = async (step: AnyStep): Promise<{ readonly module: string; readonly export: string } | { readonly error: string; readonly hint: string }> => {
  if (step.module === undefined) return { error: `step ${step.name} has no module (defined in eval?), so a worker cannot load it`, hint: "define the step in a module file" }
  const root = projectRoot(step.module)
  if (root === undefined) return { error: `step ${step.name}: no package.json above ${step.module}`, hint: "run the pipeline from a project checkout" }
  const namespace = (await import(step.module)) as Record<string, unknown>
  const name = Object.keys(namespace).find((k) => (namespace[k] as { definition?: unknown } | undefined)?.definition === step)
  if (name === undefined) {
    return {
      error: `step ${step.name} is not exported from its module ${relative(root, step.module)}, so a worker cannot load it`,
      hint: `export it at the top level of ${relative(root, step.module)} (export const ${step.name} = defineStep(...))`,
    }
  }
  return { module: relative(root, step.module).split(sep).join("/"), export: name }
}

/** A job's step as the worker's checkout has it, or why not. */
export const loadStep = async (root: string, module: string, exportName: string, stepName: string): Promise<{ readonly step: AnyStep; readonly path: string } | { readonly error: string }> => {
  const path = join(root, ...module.split("/"))
  if (!existsSync(path)) return { error: `module ${module} does not exist under ${root}` }
  const namespace = (await import(path)) as Record<string, unknown>
  const step = (namespace[exportName] as { definition?: AnyStep } | undefined)?.definition
  if (step === undefined) return { error: `${module} has no step export "${exportName}"` }
  if (step.name !== stepName) return { error: `${module}#${exportName} is step "${step.name}", the job names "${stepName}"` }
  return { step, path }
}
