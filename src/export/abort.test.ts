// An aborted export stops streaming weights before the next tensor (counted in tensors, not
// timed), fails with the signal's AbortError rather than an export error, and publishes no model.
import { afterAll, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { exportEncoder } from "./export-encoder.ts"
import { scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("abort")
afterAll(cleanup)

test("an aborted export streams no weight after the abort and writes no model.onnx", async () => {
  const ckpt = await tinyCheckpoint(dir, "bert", "embedding")
  const controller = new AbortController()
  const streamed: string[] = []
  const outDir = join(dir, "out")
  const error = await exportEncoder({
    checkpointDir: ckpt,
    outDir,
    task: "embedding",
    signal: controller.signal,
    onProgress: ({ tensor }) => {
      streamed.push(tensor)
      if (streamed.length === 3) controller.abort()
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect((error as Error).name).toBe("AbortError")
  expect(streamed).toHaveLength(3)
  expect(existsSync(join(outDir, "onnx", "model.onnx"))).toBe(false)
})
