// Test fixture: a deployment bundle made the way a user's is — a seeded synthetic tiny checkpoint
// (synth) exported to ONNX (export) and bundled (runtime's writeBundle) — for serving in tests.
import { join } from "node:path"
import { exportEncoder } from "../../export/index.ts"
import { writeBundle } from "../../runtime/index.ts"
import { synthesizeCheckpoint } from "../../synth/index.ts"

export type FixtureTask = "embedding" | "reranker" | "m3"

/** Writes checkpoint, export and bundle under `root`; returns the bundle folder. */
export const writeServedBundle = async (root: string, task: FixtureTask, seed = 11): Promise<string> => {
  const checkpoint = await synthesizeCheckpoint({ arch: task === "embedding" ? "bert" : "xlm-roberta", size: "tiny", task, seed, out: join(root, `${task}-checkpoint`) })
  const exported = await exportEncoder({ checkpointDir: checkpoint.dir, outDir: join(root, `${task}-onnx`), task })
  return (await writeBundle(exported.outDir, join(root, `${task}-bundle`))).dir
}

/** Sentences over common English words, 1 to ~40 words, seeded. */
export const servedTexts = (count: number, seed = 5): string[] => {
  const words = ["the", "model", "of", "a", "quick", "brown", "fox", "runs", "over", "lazy", "dog", "and", "text", "score", "serving", "batch"]
  let state = seed >>> 0 || 1
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
  return Array.from({ length: count }, (_, i) => Array.from({ length: i % 4 === 0 ? 25 + next(15) : 1 + next(8) }, () => words[next(words.length)]).join(" "))
}
