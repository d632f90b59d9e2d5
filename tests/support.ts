// Helpers for engine tests: temp dirs, a captured run of a pipeline, and small counting steps.
import { afterEach } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { executePipeline, type ExecuteOptions } from "../src/cli/index.ts"
import { defineStep, type Pipeline } from "../src/engine/index.ts"

export const tempDir = (prefix = "kiln-test-"): string => mkdtempSync(join(tmpdir(), prefix))

export const cleanup = (...dirs: string[]): void => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}

/** A maker of temp dirs that are all removed after each test of the calling file. */
export const freshDirsPerTest = (): (() => string) => {
  const dirs: string[] = []
  afterEach(() => cleanup(...dirs.splice(0)))
  return () => {
    const d = tempDir()
    dirs.push(d)
    return d
  }
}

export interface CapturedRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly json: { pipeline: string; ok: boolean; steps: { id: string; step: string; status: string; key: string; ms: number; outputs: Record<string, { digest: string; path: string }>; reason?: string; runsOn?: string; error?: { message: string; logPath?: string } }[] }
  readonly status: Record<string, string>
}

/** Runs `p` as its CLI would, with --json and a private cache, capturing output. */
export const runCaptured = async <K extends string>(p: Pipeline<K>, dir: string, args: readonly string[] = [], options: ExecuteOptions = {}): Promise<CapturedRun> => {
  let stdout = ""
  let stderr = ""
  const result = await executePipeline(p, join(dir, "pipeline.ts"), ["--json", "--cache-dir", join(dir, "cache"), ...args], {
    ...options,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  })
  const last = stdout.trimEnd().split("\n").pop() ?? "{}"
  let json: CapturedRun["json"]
  try {
    json = JSON.parse(last)
  } catch {
    json = { pipeline: "", ok: false, steps: [] }
  }
  const status = Object.fromEntries((json.steps ?? []).map((s) => [s.id, s.status]))
  return { code: result.exitCode, stdout, stderr, json, status }
}

/** Steps whose runs are counted, for checking what re-ran. */
export const countingSteps = () => {
  const runs: string[] = []
  const emit = defineStep({
    name: "emit",
    version: 1,
    params: z.object({ text: z.string(), repeat: z.number().int().positive().default(1) }),
    inputs: {},
    output: "text",
    run: (ctx) =>
      Effect.promise(async () => {
        runs.push(ctx.nodeId)
        await Bun.write(join(ctx.outDir, "text.txt"), ctx.params.text.repeat(ctx.params.repeat))
      }),
  })
  const upper = defineStep({
    name: "upper",
    version: 1,
    params: z.object({ suffix: z.string().default("") }),
    inputs: { text: "text" },
    output: "text",
    run: (ctx) =>
      Effect.promise(async () => {
        runs.push(ctx.nodeId)
        const t = await Bun.file(join(ctx.inputs.text.path, "text.txt")).text()
        await Bun.write(join(ctx.outDir, "text.txt"), t.toUpperCase() + ctx.params.suffix)
      }),
  })
  const join2 = defineStep({
    name: "join",
    version: 1,
    params: z.object({ sep: z.string().default("+") }),
    inputs: { left: "text", right: "text" },
    main: "left",
    output: "text",
    run: (ctx) =>
      Effect.promise(async () => {
        runs.push(ctx.nodeId)
        const a = await Bun.file(join(ctx.inputs.left.path, "text.txt")).text()
        const b = await Bun.file(join(ctx.inputs.right.path, "text.txt")).text()
        await Bun.write(join(ctx.outDir, "text.txt"), a + ctx.params.sep + b)
      }),
  })
  return { runs, emit, upper, join: join2 }
}
