// A full disk, on a real small filesystem (a tmpfs; skipped visibly where it cannot be mounted):
// the error says "no space left on device" (recognised by the error's code, not its message),
// the atomic write leaves no temp file, and a step that fills the disk is not told to fix its params.
import { afterEach, describe, expect, test } from "bun:test"
import { readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { canMountTmpfs, fillUp, mountTmpfs, type SmallFilesystem } from "../../tests/small-filesystem.ts"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { defineStep, pipeline, StepError } from "../engine/index.ts"
import { writeFileAtomic } from "./blobs.ts"

const mounts: SmallFilesystem[] = []
const dirs: string[] = []
afterEach(() => {
  for (const m of mounts.splice(0)) m.unmount()
  cleanup(...dirs.splice(0))
})
const smallFs = (kiB: number): SmallFilesystem => {
  const fs = mountTmpfs(kiB)!
  mounts.push(fs)
  return fs
}

describe.skipIf(!canMountTmpfs)("full disk (real tmpfs)", () => {
  test("an atomic write on a full disk fails as 'no space left on device' and removes its temp file", async () => {
    const fs = smallFs(256)
    fillUp(fs.dir)
    const target = join(fs.dir, "entry.json")
    const error = await Effect.runPromise(writeFileAtomic(target, new Uint8Array(64 * 1024)).pipe(Effect.flip, Effect.provide(NodeFileSystem.layer)))
    expect(error.message).toContain("no space left on device")
    expect(error.hint).toContain("free disk space")
    expect(readdirSync(fs.dir).sort()).toEqual(["filler"])
  })

  test("a step that fills the disk gets a disk-space hint, not one blaming its params", async () => {
    const fs = smallFs(1024)
    const dir = tempDir()
    dirs.push(dir)
    // Like the stdlib's library calls: the step's own hint assumes a failure is about its params.
    const big = defineStep({
      name: "big",
      version: 1,
      params: z.object({ mib: z.number() }),
      inputs: {},
      output: "blob",
      run: (ctx) =>
        Effect.tryPromise({
          try: async () => writeFileSync(join(ctx.outDir, "big.bin"), new Uint8Array(ctx.params.mib * 1024 * 1024)),
          catch: (cause) => new StepError({ message: (cause as Error).message, cause, hint: "fix the big params" }),
        }),
    })
    const r = await runCaptured(pipeline("full", big({ mib: 4 })), dir, ["--cache-dir", join(fs.dir, "cache")])
    expect(r.code).toBe(1)
    const failure = r.json.steps.find((s) => s.id === "big")!.error as { message: string; hint?: string }
    expect(failure.message).toContain("no space left on device")
    expect(failure.hint).toContain("free disk space")
    expect(failure.hint).not.toContain("params")
    expect(readdirSync(join(fs.dir, "cache", "tmp"))).toEqual([])
  })
})
