// A real, small filesystem for tests of full-disk and read-only behaviour: a tmpfs mounted on a
// temp dir. Mounting needs root (CAP_SYS_ADMIN); where it is refused, `mountTmpfs` returns
// undefined and the tests that need it skip with a note saying why.
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface SmallFilesystem {
  readonly dir: string
  /** Remounts it read-only (or read-write again). */
  readonly setReadOnly: (readOnly: boolean) => void
  readonly unmount: () => void
}

const run = (args: string[]): boolean => spawnSync(args[0]!, args.slice(1), { stdio: "ignore" }).status === 0

export const mountTmpfs = (sizeKiB: number): SmallFilesystem | undefined => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-tmpfs-"))
  if (process.platform !== "linux" || !run(["mount", "-t", "tmpfs", "-o", `size=${sizeKiB}k`, "tmpfs", dir])) {
    rmSync(dir, { recursive: true, force: true })
    return undefined
  }
  return {
    dir,
    setReadOnly: (readOnly) => {
      if (!run(["mount", "-o", `remount,${readOnly ? "ro" : "rw"}`, dir])) throw new Error(`could not remount ${dir} ${readOnly ? "read-only" : "read-write"}`)
    },
    unmount: () => {
      run(["umount", "-l", dir])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Whether this machine lets tests mount a tmpfs (checked once). */
export const canMountTmpfs: boolean = (() => {
  const fs = mountTmpfs(64)
  fs?.unmount()
  if (fs === undefined) console.warn("note: cannot mount a tmpfs here (needs root on Linux); full-disk and read-only filesystem tests are skipped")
  return fs !== undefined
})()

/** Fills the filesystem at `dir` until writing fails, leaving it with no free space. */
export const fillUp = (dir: string): void => {
  const { openSync, writeSync, closeSync } = require("node:fs") as typeof import("node:fs")
  const fd = openSync(join(dir, "filler"), "w")
  const chunk = Buffer.alloc(4096, 1)
  try {
    for (;;) writeSync(fd, chunk)
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd)
  }
}
