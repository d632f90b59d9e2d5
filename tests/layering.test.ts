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

test("the repo respects its layering: no cycles, the engine, cache, executors and run CLI import no model code, only executors load the queue client, families import no steps, targets sit behind their registry", () => {
  const violations = cruise(repo, ["src", "stdlib", "pipelines", "examples"])
  expect(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([])
}, 120_000)

test("each layering rule catches the violation it names, and nothing else fires", () => {
  const root = tempDir("kiln-layering-")
  fixtures.push(root)
  cpSync(join(repo, "tsconfig.json"), join(root, "tsconfig.json"))
  // One offending file per rule (a file may break several rules at once: all are listed below).
  const files: Record<string, string> = {
    "stdlib/steps/step.ts": `export const step = 1\n`,
    "src/engine/runner.ts": `import { step } from "../../stdlib/steps/step.ts"\nexport const r = step\n`,
    "src/engine/ort.ts": `import * as ort from "onnxruntime-node"\nexport const o = ort\n`,
    "src/cache/store.ts": `import { r } from "../engine/runner.ts"\nexport const s = r\n`,
    "src/cache/transformers.ts": `import * as t from "@huggingface/transformers"\nexport const t2 = t\n`,
    "src/families/toy/family.ts": `import { step } from "../../../stdlib/steps/step.ts"\nexport const f = step\n`,
    "src/quant/a.ts": `import { b } from "./b.ts"\nexport const a = () => b()\n`,
    "src/quant/b.ts": `import { a } from "./a.ts"\nexport const b = () => a\n`,
    "src/quant/types-a.ts": `import type { B } from "./types-b.ts"\nexport type A = { b?: B }\n`,
    "src/quant/types-b.ts": `import type { A } from "./types-a.ts"\nexport type B = { a?: A }\n`,
    "src/onnx/uses-engine.ts": `import { s } from "../cache/store.ts"\nimport { serve } from "../serve/server.ts"\nexport const u = [s, serve]\n`,
    "src/serve/server.ts": `export const serve = 1\n`,
    "src/cli/run.ts": `import { g } from "../graph/ops.ts"\nexport const run = g\n`,
    "src/cli/kiln.ts": `export const command = () => import("../graph/ops.ts")\n`,
    "src/graph/ops.ts": `export const g = 1\n`,
    "src/targets/registry.ts": `import { cpu } from "./cpu/target.ts"\nimport { vacc } from "./vacc/target.ts"\nexport const all = [cpu, vacc]\n`,
    "src/targets/index.ts": `export { all } from "./registry.ts"\n`,
    "src/targets/cpu/target.ts": `import { helper } from "../vacc/helper.ts"\nexport const cpu = helper\n`,
    "src/targets/vacc/helper.ts": `export const helper = 1\n`,
    "src/targets/vacc/target.ts": `import { helper } from "./helper.ts"\nexport const vacc = helper\n`,
    "src/targets/testing/stand-in.ts": `import { vacc } from "../vacc/target.ts"\nexport const standIn = vacc\n`,
    "src/schema/leaky.ts": `import { g } from "../graph/ops.ts"\nexport const l = g\n`,
    "src/executors/leaky.ts": `import { g } from "../graph/ops.ts"\nexport const x = g\n`,
    "src/engine/queue.ts": `import { Queue } from "bullmq"\nexport const q = Queue\n`,
    // Allowed: an executor runs steps through the engine, moves artifacts through the store, and owns the queue client.
    "src/executors/registry.ts": `import { m } from "../engine/messages.ts"\nimport { tier } from "../store/tier.ts"\nexport const e = [m, tier]\n`,
    "src/executors/bullmq/queue.ts": `import { Queue } from "bullmq"\nimport { e } from "../registry.ts"\nexport const bq = [Queue, e]\n`,
    "src/store/leaky.ts": `import { r } from "../engine/runner.ts"\nexport const sl = r\n`,
    // Allowed: the engine consults the remote tier; a store builds on the cache.
    "src/store/tier.ts": `import { c } from "../cache/messages.ts"\nexport const tier = c\n`,
    "src/engine/remote.ts": `import { tier } from "../store/tier.ts"\nexport const rt = tier\n`,
    // Allowed: the engine and the cache word validation errors through src/schema.
    "src/schema/words.ts": `export const words = 1\n`,
    "src/engine/messages.ts": `import { words } from "../schema/words.ts"\nexport const m = words\n`,
    "src/cache/messages.ts": `import { words } from "../schema/words.ts"\nexport const c = words\n`,
    "src/evaluate/deployment.ts": `import { all } from "../targets/index.ts"\nimport { cpu } from "../targets/cpu/target.ts"\nimport { standIn } from "../targets/testing/stand-in.ts"\nexport const d = [all, cpu, standIn]\n`,
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  const found = new Set(cruise(root, ["src", "stdlib"]).map((v) => `${v.rule.name}: ${v.from} → ${v.to}`))
  const cycle = [...found].filter((v) => v.startsWith("no-cycles: "))
  // The value cycle a ↔ b is reported (from either end); types naming each other are erased at run time: not a cycle.
  expect(cycle.length).toBeGreaterThan(0)
  expect(cycle.every((v) => /^no-cycles: src\/quant\/[ab]\.ts → src\/quant\/[ab]\.ts$/.test(v))).toBe(true)
  expect([...found].filter((v) => !v.startsWith("no-cycles: ")).sort()).toEqual(
    [
      "engine-knows-no-models: src/engine/runner.ts → stdlib/steps/step.ts",
      "src-below-stdlib: src/engine/runner.ts → stdlib/steps/step.ts",
      "engine-no-model-libraries: src/engine/ort.ts → onnxruntime-node",
      "cache-is-the-bottom: src/cache/store.ts → src/engine/runner.ts",
      "schema-is-a-leaf: src/schema/leaky.ts → src/graph/ops.ts",
      "executors-know-no-models: src/executors/leaky.ts → src/graph/ops.ts",
      "queue-client-in-executors: src/engine/queue.ts → bullmq",
      "stores-below-the-engine: src/store/leaky.ts → src/engine/runner.ts",
      "engine-no-model-libraries: src/cache/transformers.ts → @huggingface/transformers",
      "families-import-no-steps: src/families/toy/family.ts → stdlib/steps/step.ts",
      "libraries-know-no-engine: src/families/toy/family.ts → stdlib/steps/step.ts",
      "src-below-stdlib: src/families/toy/family.ts → stdlib/steps/step.ts",
      "libraries-know-no-engine: src/onnx/uses-engine.ts → src/serve/server.ts",
      "run-cli-knows-no-models: src/cli/run.ts → src/graph/ops.ts",
      "targets-know-no-other-target: src/targets/cpu/target.ts → src/targets/vacc/helper.ts",
      "targets-behind-their-registry: src/evaluate/deployment.ts → src/targets/cpu/target.ts",
    ].sort(),
  )
  // Every rule in the config is proven by the tree above: a new rule needs its own offending file.
  const rules = (require(join(repo, ".dependency-cruiser.cjs")) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name)
  const fired = new Set([...found].map((v) => v.slice(0, v.indexOf(":"))))
  expect(rules.filter((name) => !fired.has(name))).toEqual([])
}, 120_000)
