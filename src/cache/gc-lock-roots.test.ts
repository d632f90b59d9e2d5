// `kiln cache gc` keeps what a registered lock file records — including the keys of host-bound
// steps, which the lock stores per host class (nodes.<id>.hosts.<class>.key), not at nodes.<id>.key —
// and names the lock files and run records it cannot read (file, field, what was expected).
import { afterAll, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { cleanup, tempDir } from "../../tests/support.ts"
import { actionEntryPath, readActionEntry } from "./action-cache.ts"
import { cacheLayout } from "./layout.ts"
import { collectGarbage } from "./maintenance.ts"

const root = tempDir()
afterAll(() => cleanup(root))

const key = (c: string) => c.repeat(64)

test("gc keeps the entries of portable and host-bound nodes a lock file records, and drops the rest", () => {
  const layout = cacheLayout(join(root, "cache"))
  for (const k of [key("a"), key("b"), key("c")]) {
    const path = actionEntryPath(layout, k)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, JSON.stringify({ kilnAction: 1, key: k, keyInputs: {}, output: key("f"), log: null, ms: 1 }))
  }
  const lockFile = join(root, "p.lock.json")
  writeFileSync(
    lockFile,
    JSON.stringify({
      pipeline: "p",
      cacheSchema: 1,
      nodes: {
        exportOnnx: { step: "exportOnnx", version: 1, reproducible: "portable", key: key("a"), outputs: { out: key("f") } },
        compile: { step: "compile", version: 1, reproducible: "host", hosts: { "x86_64-avx2": { key: key("b"), outputs: { out: key("f") } } } },
        bench: { step: "bench", version: 1, reproducible: "measurement" },
      },
    }),
  )
  mkdirSync(layout.roots, { recursive: true })
  writeFileSync(join(layout.roots, "p.json"), JSON.stringify({ lockFile }))
  const report = collectGarbage(layout, 0)
  expect(readActionEntry(layout, key("a"))).toBeDefined()
  expect(readActionEntry(layout, key("b"))).toBeDefined()
  expect(readActionEntry(layout, key("c"))).toBeUndefined()
  expect(report).toMatchObject({ keptActions: 2, removedActions: 1, unreadable: [] })
})

test("a lock file or run record gc cannot read is named in the report, with the field and what was expected", () => {
  const layout = cacheLayout(join(root, "cache-broken"))
  const lockFile = join(root, "broken.lock.json")
  writeFileSync(lockFile, JSON.stringify({ pipeline: "p", nodes: { compile: { hosts: { x86: { key: 7 } } } } }))
  mkdirSync(layout.roots, { recursive: true })
  writeFileSync(join(layout.roots, "broken.json"), JSON.stringify({ lockFile }))
  mkdirSync(layout.runs, { recursive: true })
  writeFileSync(join(layout.runs, "1-1.json"), "{ truncated")
  const report = collectGarbage(layout, 7)
  expect(report.unreadable).toContainEqual(`${lockFile}: nodes.compile.hosts.x86.key must be a string, got 7`)
  expect(report.unreadable).toContainEqual(expect.stringMatching(new RegExp(`^${join(layout.runs, "1-1.json")}: a run record is not valid JSON`)))
})
