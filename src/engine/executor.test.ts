// The executor seam: the runtime resolves hits itself and hands only misses to the executor the
// run provides; what the executor reports (the host that ran a step) reaches the --json summary.
import { expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { join } from "node:path"
import { cacheLayout } from "../cache/layout.ts"
import { listRunIds, readRunRecord, runRecordPath } from "../cache/run-records.ts"
import { countingSteps, freshDirsPerTest, runCaptured } from "../../tests/support.ts"
import { Executor, localExecutor, pipeline } from "./index.ts"

const fresh = freshDirsPerTest()

const recording = (asked: string[]) =>
  Layer.succeed(Executor)({
    describe: "recording",
    execute: (x) => Effect.map(Effect.sync(() => asked.push(x.node.id)).pipe(Effect.andThen(localExecutor.execute(x))), (done) => ({ ...done, host: "elsewhere:1" })),
  })

test("only misses reach the executor; the host it names is in the --json summary and the report", async () => {
  const s = countingSteps()
  const p = pipeline("p", s.emit({ text: "x" })).then(s.upper({}))
  const dir = fresh()
  const asked: string[] = []
  const first = await runCaptured(p, dir, [], { services: recording(asked) })
  expect(first.code).toBe(0)
  expect(asked.sort()).toEqual(["emit", "upper"])
  expect(first.json.steps.map((x) => [x.id, x.status, (x as { host?: string }).host])).toEqual([
    ["emit", "ran", "elsewhere:1"],
    ["upper", "ran", "elsewhere:1"],
  ])
  expect(first.stderr).toContain("ran upper (upper) on elsewhere:1")
  // The run record (what `kiln report` reads) keeps it too.
  const layout = cacheLayout(join(dir, "cache"))
  const record = readRunRecord(runRecordPath(layout, listRunIds(layout)[0]!))
  expect(record.steps?.map((x) => x.host)).toEqual(["elsewhere:1", "elsewhere:1"])
  asked.length = 0
  const second = await runCaptured(p, dir, [], { services: recording(asked) })
  expect(second.status).toEqual({ emit: "cached", upper: "cached" })
  expect(asked).toEqual([])
})

test("without an executor service the run is local and names no host", async () => {
  const s = countingSteps()
  const r = await runCaptured(pipeline("p", s.emit({ text: "y" })), fresh())
  expect(r.status).toEqual({ emit: "ran" })
  expect(r.json.steps.every((x) => !("host" in x))).toBe(true)
})
