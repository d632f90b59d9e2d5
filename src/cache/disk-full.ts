// Recognises a full disk (or an exhausted quota) from an error's code wherever it sits in the
// cause chain: @effect/platform-node reports ENOSPC as an "Unknown" system error whose message
// never says so, and library code wraps Node's error in its own. Messages are not checked.
const FULL_CODES = new Set(["ENOSPC", "EDQUOT"])
// ENOSPC's errno on Linux and macOS (Node reports it negated), for errors that carry no code.
const ENOSPC_ERRNO = 28

export const DISK_FULL_HINT = "free disk space or point --cache-dir / KILN_CACHE_DIR at a larger filesystem"

/** True when `error`, or anything it was caused by, is a full-disk or over-quota failure. */
export const isDiskFull = (error: unknown): boolean => {
  const seen = new Set<unknown>()
  const pending: unknown[] = [error]
  while (pending.length > 0) {
    const e = pending.pop()
    if (e === null || typeof e !== "object" || seen.has(e)) continue
    seen.add(e)
    const { code, errno, cause, reason, errors } = e as { code?: unknown; errno?: unknown; cause?: unknown; reason?: unknown; errors?: unknown }
    if (typeof code === "string" && FULL_CODES.has(code)) return true
    if (typeof errno === "number" && Math.abs(errno) === ENOSPC_ERRNO && typeof code !== "string") return true
    pending.push(cause, reason)
    if (Array.isArray(errors)) pending.push(...errors.slice(0, 16))
  }
  return false
}
