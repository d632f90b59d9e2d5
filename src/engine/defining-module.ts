// Which module defined a step: the file of the call site of `defineStep`, read from V8-style
// call sites (Bun implements `Error.prepareStackTrace` with CallSite objects). The step's code
// digest starts from that module. `module: import.meta` in the step spec overrides it.
import { isAbsolute } from "node:path"
import { fileURLToPath } from "node:url"

/** Absolute path of the file that called `fn`, or undefined when it has none (eval, REPL). */
export const callerModule = (fn: Function): string | undefined => {
  const original = Error.prepareStackTrace
  try {
    Error.prepareStackTrace = (_error, sites) => sites
    const holder: { stack?: unknown } = {}
    Error.captureStackTrace(holder, fn)
    const sites = holder.stack as readonly { getFileName(): string | null | undefined }[] | undefined
    return asModulePath(sites?.[0]?.getFileName() ?? undefined)
  } finally {
    Error.prepareStackTrace = original
  }
}

/** A file path or file: URL as an absolute path; anything else (eval, internal frames) is undefined. */
export const asModulePath = (name: string | undefined): string | undefined => {
  if (name === undefined || name === "") return undefined
  if (name.startsWith("file:")) return fileURLToPath(name)
  return isAbsolute(name) ? name : undefined
}
