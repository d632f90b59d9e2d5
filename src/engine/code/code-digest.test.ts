// A step's code digest in a small generated project: what the import closure holds, how package
// versions are read from bun.lock, and that a no-op re-run reuses the persisted closure.
import { afterEach, expect, test } from "bun:test"
import { mkdirSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { sha256File } from "../../cache/file-digest.ts"
import { cleanup, tempDir } from "../../../tests/support.ts"
import { explainCodeChange } from "../action-key.ts"
import { makeCodeDigester } from "./index.ts"

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))

const LOCK = `{
  "lockfileVersion": 1,
  "workspaces": { "": { "name": "demo", "dependencies": { "left": "1.0.0", "right": "2.0.0" } } },
  "packages": {
    "left": ["left@1.0.0", "", { "dependencies": { "shared": "^1.0.0" } }, "sha512-a"],
    "right": ["right@2.0.0", "", { "dependencies": { "shared": "^2.0.0" } }, "sha512-b"],
    "shared": ["shared@1.4.0", "", {}, "sha512-c"],
    "right/shared": ["shared@2.1.0", "", {}, "sha512-d"],
    "unused": ["unused@9.9.9", "", {}, "sha512-e"],
  }
}
`

/** A project: step.ts imports lib/a.ts (which imports package "left" and, type-only, lib/types.ts) and dynamically lib/late.ts. */
const project = () => {
  const root = tempDir("kiln-code-")
  dirs.push(root)
  mkdirSync(join(root, "lib"))
  const files: Record<string, string> = {
    "package.json": `{"name":"demo","type":"module"}`,
    "bun.lock": LOCK,
    "step.ts": `import { a } from "./lib/a.ts"\nexport const run = async () => a() + (await import("./lib/late.ts")).late\n`,
    "lib/a.ts": `import type { T } from "./types.ts"\nimport { l } from "left"\nimport { readFileSync } from "node:fs"\nexport const a = (): T => l + String(readFileSync)\n`,
    "lib/types.ts": `export type T = string\n`,
    "lib/late.ts": `export const late = 1\n`,
    "lib/unrelated.ts": `export const u = 1\n`,
  }
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text)
  // Older than the racily-clean window, as checked-out sources are.
  const past = new Date(Date.now() - 10_000)
  for (const path of Object.keys(files)) utimesSync(join(root, path), past, past)
  return root
}

test("the closure holds the module, its static and dynamic imports, not type-only or unrelated files", async () => {
  const root = project()
  const digester = makeCodeDigester({ stateDir: join(root, "state") })
  const entry = join(root, "step.ts")
  await digester.prepare([entry])
  const code = digester.digestOf(entry)
  expect(Object.keys(code.files)).toEqual(["lib/a.ts", "lib/late.ts", "step.ts"])
  expect(code.files["lib/a.ts"]).toBe(sha256File(join(root, "lib/a.ts")))
  // "left" and what it depends on, from bun.lock; node builtins are not packages; "right" is not imported.
  expect(code.packages).toEqual({ left: "left@1.0.0", shared: "shared@1.4.0" })
})

test("a nested install resolves to the version under its parent", async () => {
  const root = project()
  writeFileSync(join(root, "lib/a.ts"), `import { r } from "right"\nexport const a = () => r\n`)
  const digester = makeCodeDigester({ stateDir: join(root, "state") })
  const entry = join(root, "step.ts")
  await digester.prepare([entry])
  expect(digester.digestOf(entry).packages).toEqual({ right: "right@2.0.0", "right/shared": "shared@2.1.0" })
})

test("a no-op re-run reuses the persisted closure; an edit that adds an import is resolved again", async () => {
  const root = project()
  const entry = join(root, "step.ts")
  const stateDir = join(root, "state")
  const first = makeCodeDigester({ stateDir })
  await first.prepare([entry])
  const [record] = (await Array.fromAsync(new Bun.Glob("*.json").scan(stateDir))).map((f) => join(stateDir, f))
  const before = statSync(record!).ino
  const again = makeCodeDigester({ stateDir })
  await again.prepare([entry])
  // The record is rewritten (a new inode, by rename) only when the bundler ran.
  expect(statSync(record!).ino).toBe(before)
  expect(again.digestOf(entry)).toEqual(first.digestOf(entry))

  writeFileSync(join(root, "lib/a.ts"), `import { u } from "./unrelated.ts"\nexport const a = () => String(u)\n`)
  const edited = makeCodeDigester({ stateDir })
  await edited.prepare([entry])
  const code = edited.digestOf(entry)
  expect(Object.keys(code.files)).toEqual(["lib/a.ts", "lib/late.ts", "lib/unrelated.ts", "step.ts"])
  expect(code.packages).toEqual({})
  expect(explainCodeChange(first.digestOf(entry), code)).toEqual([
    "code changed: lib/a.ts, lib/unrelated.ts (new import)",
    "package left: left@1.0.0 → absent",
    "package shared: shared@1.4.0 → absent",
  ])
})

test("a file touched without a content change keeps its digest, and its new stamp is saved so the next run need not hash it", async () => {
  const root = project()
  const entry = join(root, "step.ts")
  const stateDir = join(root, "state")
  const first = makeCodeDigester({ stateDir })
  await first.prepare([entry])
  const [record] = (await Array.fromAsync(new Bun.Glob("*.json").scan(stateDir))).map((f) => join(stateDir, f))
  const before = statSync(record!).ino
  // Same bytes, another mtime (a checkout, a `touch`), still outside the racily-clean window.
  const later = new Date(Date.now() - 5_000)
  for (const path of ["lib/a.ts", "bun.lock"]) utimesSync(join(root, path), later, later)
  const touched = makeCodeDigester({ stateDir })
  await touched.prepare([entry])
  expect(touched.digestOf(entry)).toEqual(first.digestOf(entry))
  expect(statSync(record!).ino).not.toBe(before)
  const saved = JSON.parse(await Bun.file(record!).text()) as { files: string; lock: string }
  const mtimeOf = (path: string) => String(statSync(join(root, path)).mtimeMs)
  expect(saved.files.split("\n").find((l) => l.endsWith("/lib/a.ts"))!.split(" ")[2]).toBe(mtimeOf("lib/a.ts"))
  expect(saved.lock.split(" ")[2]).toBe(mtimeOf("bun.lock"))
})

test("a module that does not resolve fails naming it", async () => {
  const root = project()
  writeFileSync(join(root, "lib/a.ts"), `import { gone } from "./missing.ts"\nexport const a = () => gone\n`)
  const digester = makeCodeDigester({ stateDir: join(root, "state") })
  await expect(digester.prepare([join(root, "step.ts")])).rejects.toThrow(/missing\.ts/)
})

test("a bun.lock whose packages are not lock entries is an error naming the file and the entry", async () => {
  const { readPackageLock } = await import("./package-versions.ts")
  const dir = tempDir()
  try {
    writeFileSync(join(dir, "bun.lock"), JSON.stringify({ lockfileVersion: 1, packages: { zod: "zod@4.6.7" } }))
    expect(() => readPackageLock(dir)).toThrow(new RegExp(`^${join(dir, "bun.lock")}: expected a "packages" object .*; packages\\.zod `))
  } finally {
    cleanup(dir)
  }
})

test("a file a step runs but does not import as code (a Python script, imported `with { type: \"file\" }`) is in its closure: editing it changes the digest", async () => {
  const root = project()
  writeFileSync(join(root, "runner.py"), "print('v1')\n")
  writeFileSync(join(root, "step.ts"), `import runner from "./runner.py" with { type: "file" }\nexport const run = () => Bun.spawn(["python3", runner])\n`)
  const entry = join(root, "step.ts")
  const first = makeCodeDigester({ stateDir: join(root, "state") })
  await first.prepare([entry])
  const before = first.digestOf(entry)
  expect(Object.keys(before.files)).toEqual(["runner.py", "step.ts"])
  writeFileSync(join(root, "runner.py"), "print('v2')\n")
  // A fresh process: the persisted closure's stamp for runner.py no longer matches.
  const second = makeCodeDigester({ stateDir: join(root, "state") })
  await second.prepare([entry])
  const after = second.digestOf(entry)
  expect(after.files["runner.py"]).toBe(sha256File(join(root, "runner.py")))
  expect(after.files["runner.py"]).not.toBe(before.files["runner.py"])
  expect(explainCodeChange(before, after)).toEqual(["code changed: runner.py"])
})
