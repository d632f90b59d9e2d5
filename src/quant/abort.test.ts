// Aborting a quantization stops its library loops promptly: the sensitivity search before its next
// configuration, a calibration pass before its next sample. Counted in measurements and samples,
// not timed.

import { afterAll, expect, test } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readCalibrationSet, writeCalibrationSet } from "../calibration/index.ts"
import { ActivationCalibrator } from "./calibration.ts"
import { collectActivations } from "./collect-activations.ts"
import { Int8Planner } from "./int8-planner.ts"
import { quantizeOnnxModel } from "./quantize-model.ts"
import { buildTestEncoder, testTokenRows } from "./test-encoder.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-quant-abort-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const encoder = buildTestEncoder({ outliers: true, layers: 4, seed: 7 })
const calibration = join(root, "calibration")
writeCalibrationSet(testTokenRows(30, encoder.vocab), calibration, { seqlen: 16, padId: 0 })

test("an aborted quantize stops its sensitivity search before the next configuration", async () => {
  const controller = new AbortController()
  const measured: string[] = []
  let afterAbort = 0
  const log = (line: string) => {
    if (!line.startsWith("sensitivity:")) return
    if (controller.signal.aborted) afterAbort++
    measured.push(line)
    // Abort after the second measurement: the search has 16 groups and more steps to go.
    if (measured.length === 2) controller.abort()
  }
  // A budget no configuration meets short of all float: without the abort the search measures every group.
  const run = quantizeOnnxModel(encoder.model, { scheme: "static-int8", calibration, method: "max", smooth: false, exclude: "auto", budget: { meanCosine: 0.99999999 } }, { log, signal: controller.signal, tmpDir: join(root, "search") })
  const error = await run.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(Error)
  expect((error as Error).name).toBe("AbortError")
  expect(measured).toHaveLength(2)
  expect(afterAbort).toBe(0)
}, 20_000)

test("an aborted calibration pass stops before the next sample", async () => {
  const samples = readCalibrationSet(calibration).samples
  const controller = new AbortController()
  let settled = 0
  const calibrator = new ActivationCalibrator({ method: "max" })
  const observer = {
    observe: calibrator.observe.bind(calibrator),
    settle: async () => {
      settled++
      if (settled === 3) controller.abort()
    },
  }
  const tensors = new Int8Planner(encoder.model, { weights: "per-channel", attention: "quantize", embeddings: false }).activationTensors()
  const error = await collectActivations(encoder.model, tensors, samples, observer, { tmpDir: join(root, "calibrate"), ignorePadding: true, signal: controller.signal }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect((error as Error).name).toBe("AbortError")
  expect(samples.length).toBeGreaterThan(10)
  expect(settled).toBe(3)
})
