// Corrupt or truncated bytes are never served through a materialised output folder: a repaired
// blob's old copies (hard links to the bad inode) are not reused, a truncated blob is caught by a
// plain hit's size check, and `kiln cache verify` finds corrupt copies under out.v1 too.
import { afterEach, describe, expect, test } from "bun:test"
import { chmodSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { cleanup, runCaptured, tempDir, type CapturedRun } from "../../tests/support.ts"
import { runKiln } from "../cli/kiln.ts"
import { defineStep, pipeline } from "../engine/index.ts"
import { blobPath } from "./blobs.ts"
import { sha256File } from "./file-digest.ts"
import { cacheLayout } from "./layout.ts"
import { listFiles, readManifest } from "./tree.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

const emit = defineStep({
  name: "emit",
  version: 1,
  params: z.object({ text: z.string() }),
  inputs: {},
  output: "text",
  run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), ctx.params.text)),
})
/** Copies its input's text.txt unchanged beside a file of its own: both outputs share that blob. */
const tag = defineStep({
  name: "tag",
  version: 1,
  params: z.object({ tag: z.string() }),
  inputs: { text: "text" },
  output: "text",
  run: (ctx) =>
    Effect.promise(async () => {
      await Bun.write(join(ctx.outDir, "text.txt"), Bun.file(join(ctx.inputs.text.path, "text.txt")))
      await Bun.write(join(ctx.outDir, "tag.txt"), ctx.params.tag)
    }),
})
const shared = () => pipeline("shared", emit({ text: "payload" })).then(tag({ tag: "t" }))

const setup = async () => {
  const dir = tempDir()
  dirs.push(dir)
  const layout = cacheLayout(join(dir, "cache"))
  const first = await runCaptured(shared(), dir)
  expect(first.code).toBe(0)
  const payload = blobPath(layout, new Bun.CryptoHasher("sha256").update("payload").digest("hex"))
  return { dir, layout, payload }
}
const writable = (path: string) => chmodSync(path, 0o644)
const text = (r: CapturedRun, id: string) => readFileSync(join(r.json.steps.find((s) => s.id === id)!.outputs.out!.path, "text.txt"), "utf8")

/** Every file under out.v1 whose bytes do not hash to what its tree's manifest says. */
const corruptMaterialised = (layout: ReturnType<typeof cacheLayout>): string[] => {
  const bad: string[] = []
  for (const tree of readdirSync(layout.out)) {
    const manifest = readManifest(layout, tree)!
    for (const f of listFiles(join(layout.out, tree))) {
      const entry = manifest.entries.find((e) => e.path === f.rel)
      if (entry === undefined || sha256File(f.abs) !== entry.digest) bad.push(`${tree}/${f.rel}`)
    }
  }
  return bad
}

describe("corrupt copies are never served", () => {
  test("after --verify repairs a blob, another output's materialised folder does not serve the old bytes", async () => {
    const { dir, layout, payload } = await setup()
    writable(payload)
    writeFileSync(payload, "paXload")
    const repaired = await runCaptured(shared(), dir, ["--verify"])
    expect(repaired.code).toBe(0)
    expect(repaired.status.emit).toBe("ran")
    expect(text(repaired, "emit")).toBe("payload")
    expect(text(repaired, "tag")).toBe("payload")
    expect(corruptMaterialised(layout)).toEqual([])
    // A later plain run serves the same good bytes.
    const later = await runCaptured(shared(), dir)
    expect(text(later, "tag")).toBe("payload")
  })

  test("a truncated blob is never served by a plain (unverified) hit", async () => {
    const { dir, layout, payload } = await setup()
    writable(payload)
    truncateSync(payload, 3)
    const r = await runCaptured(shared(), dir)
    expect(r.code).toBe(0)
    expect(r.status.emit).toBe("ran")
    expect(text(r, "emit")).toBe("payload")
    expect(text(r, "tag")).toBe("payload")
    expect(readFileSync(payload, "utf8")).toBe("payload")
    expect(corruptMaterialised(layout)).toEqual([])
  })

  test("cache verify finds a corrupt copy under out.v1 whose blob is intact, and it is not served again", async () => {
    const { dir, layout } = await setup()
    const tree = readdirSync(layout.out).find((t) => readManifest(layout, t)!.entries.some((e) => e.path === "tag.txt"))!
    // A copy that is no longer the blob (another inode), with other bytes.
    const copy = join(layout.out, tree, "text.txt")
    rmSync(copy)
    writeFileSync(copy, "paXload")
    let out = ""
    const code = await runKiln(["cache", "verify", "--cache-dir", layout.root], { write: (t: string) => (out += t) })
    expect(code).toBe(1)
    expect(out).toContain("1 corrupt materialised file")
    expect(out).toContain(`${tree}/text.txt`)
    expect(corruptMaterialised(layout)).toEqual([])
    const again = await runCaptured(shared(), dir)
    expect(again.status).toEqual({ emit: "cached", tag: "cached" })
    expect(text(again, "tag")).toBe("payload")
  })
})
