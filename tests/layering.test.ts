// The layering of ARCHITECTURE.md, enforced with dependency-cruiser (.dependency-cruiser.cjs): the
// repo has no violation, and each rule does catch the violation it names in a generated tree.
import { afterAll, expect, test } from "bun:test"
import { cpSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { cleanup, tempDir } from "./support.ts"

const repo = resolve(import.meta.dir, "..")
const fixtures: string[] = []
afterAll(() => cleanup(...fixtures))

interface Violation {
  readonly from: string
  readonly to: string
  readonly rule: { readonly name: string }
}

/** Runs the cruiser (under Bun: it refuses this machine's Node) and returns the rule violations. */
const cruise = (cwd: string, paths: readonly string[]): Violation[] => {
  const proc = Bun.spawnSync(
    ["bun", "--bun", join(repo, "node_modules", ".bin", "depcruise"), ...paths, "--config", join(repo, ".dependency-cruiser.cjs"), "--output-type", "json"],
    { cwd, stdout: "pipe", stderr: "pipe" },
  )
  const text = proc.stdout.toString()
  if (!text.trimStart().startsWith("{")) throw new Error(`depcruise failed (exit ${proc.exitCode}): ${proc.stderr.toString()}`)
  const result = JSON.parse(text) as { summary: { violations: Violation[]; totalCruised: number } }
  expect(result.summary.totalCruised).toBeGreaterThan(0)
  return result.summary.violations
}

test("the repo respects its layering: no cycles, the engine and cache import no model code, families import no steps", () => {
  const violations = cruise(repo, ["src", "stdlib", "pipelines", "examples"])
  expect(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([])
}, 120_000)

test("each layering rule catches the violation it names", () => {
  const root = tempDir("kiln-layering-")
  fixtures.push(root)
  cpSync(join(repo, "tsconfig.json"), join(root, "tsconfig.json"))
  const files: Record<string, string> = {
    "stdlib/steps/step.ts": `export const step = 1\n`,
    "src/engine/runner.ts": `import { step } from "../../stdlib/steps/step.ts"\nexport const r = step\n`,
    "src/engine/ort.ts": `import * as ort from "onnxruntime-node"\nexport const o = ort\n`,
    "src/cache/store.ts": `import { r } from "../engine/runner.ts"\nexport const s = r\n`,
    "src/families/toy/family.ts": `import { step } from "../../../stdlib/steps/step.ts"\nexport const f = step\n`,
    "src/quant/a.ts": `import { b } from "./b.ts"\nexport const a = () => b()\n`,
    "src/quant/b.ts": `import { a } from "./a.ts"\nexport const b = () => a\n`,
    "src/quant/types-a.ts": `import type { B } from "./types-b.ts"\nexport type A = { b?: B }\n`,
    "src/quant/types-b.ts": `import type { A } from "./types-a.ts"\nexport type B = { a?: A }\n`,
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  const found = new Set(cruise(root, ["src", "stdlib"]).map((v) => `${v.rule.name}: ${v.from}`))
  expect(found).toContain("engine-knows-no-models: src/engine/runner.ts")
  expect(found).toContain("engine-no-model-libraries: src/engine/ort.ts")
  expect(found).toContain("cache-is-the-bottom: src/cache/store.ts")
  expect(found).toContain("families-import-no-steps: src/families/toy/family.ts")
  expect([...found].some((v) => v.startsWith("no-cycles: src/quant/a.ts") || v.startsWith("no-cycles: src/quant/b.ts"))).toBe(true)
  // Types naming each other are erased at run time: not a cycle.
  expect([...found].some((v) => v.includes("types-"))).toBe(false)
}, 120_000)
