// Locates a Python interpreter that can import numpy, so tests can check our files against numpy
// itself. CI gets numpy from Debian's python3-numpy in /usr/bin/python3, while `python3` on PATH
// may be another interpreter without it.

let cached: string | null | undefined

/** The first of /usr/bin/python3, python3 that imports numpy, or null when none does. */
export const findNumpyPython = (): string | null => {
  if (cached !== undefined) return cached
  cached = null
  for (const candidate of ["/usr/bin/python3", "python3"]) {
    try {
      const probe = Bun.spawnSync([candidate, "-c", "import numpy"], { stdout: "ignore", stderr: "ignore" })
      if (probe.exitCode === 0) {
        cached = candidate
        break
      }
    } catch {
      // Not installed: try the next candidate.
    }
  }
  return cached
}

/** Runs a Python script with that interpreter; throws with its stderr when it fails. */
export const runPython = (python: string, script: string, args: readonly string[] = []): string => {
  const result = Bun.spawnSync([python, "-c", script, ...args], { stdout: "pipe", stderr: "pipe" })
  if (result.exitCode !== 0) {
    throw new Error(`${python} failed (exit ${result.exitCode}): ${result.stderr.toString()}`)
  }
  return result.stdout.toString()
}
