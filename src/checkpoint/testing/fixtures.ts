// Test helpers: seeded values, temp folders, a python3 probe and a thrown-error catcher, shared by the checkpoint tests.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { elementCount } from "../../tensor/index.ts"
import type { TensorSource, WritableDType } from "../tensor-source.ts"

/** Deterministic pseudo-random floats in [-2, 2) (mulberry32). */
export const seededValues = (seed: number, count: number): Float32Array => {
  let state = seed >>> 0
  const out = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 4 - 2
  }
  return out
}

export const seededSource = (name: string, dtype: WritableDType, shape: readonly number[], seed: number): TensorSource => ({
  name,
  dtype,
  shape,
  values: () => seededValues(seed, elementCount(shape)),
})

/** A fresh temp folder, removed by the returned cleanup. */
export const makeTempDir = (label: string): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), `kiln-${label}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

let python: boolean | undefined
/** Whether python3 can be run (dev checks skip without it). */
export const hasPython3 = (): boolean => {
  if (python === undefined) {
    try {
      python = Bun.spawnSync(["python3", "-c", "print(1)"]).exitCode === 0
    } catch {
      python = false
    }
  }
  return python
}

/** Runs a python3 script with arguments; returns stdout, throws with stderr on failure. */
export const runPython = (script: string, args: readonly string[] = []): string => {
  const result = Bun.spawnSync(["python3", "-c", script, ...args])
  if (result.exitCode !== 0) throw new Error(`python3 failed: ${result.stderr.toString()}`)
  return result.stdout.toString()
}

/** The error a synchronous call throws; a call that returns normally fails the test. */
export const catchError = (run: () => unknown): Error => {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error("expected an error")
}
