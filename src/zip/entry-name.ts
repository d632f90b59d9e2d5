// Entry names are paths inside the archive; reject ones that would escape an extraction
// directory (absolute paths, drive letters, `..` segments) before anyone uses them as paths.

/** Returns why `name` is unsafe, or undefined when it is a plain relative path. */
export const unsafeEntryNameReason = (name: string): string | undefined => {
  if (name.length === 0) return "the name is empty"
  if (name.includes("\0")) return "the name contains a NUL character"
  if (name.startsWith("/") || name.startsWith("\\")) return "the name is an absolute path"
  if (/^[A-Za-z]:/.test(name)) return "the name starts with a drive letter"
  if (name.split(/[/\\]/).some((segment) => segment === "..")) return "the name contains a `..` segment"
  return undefined
}
