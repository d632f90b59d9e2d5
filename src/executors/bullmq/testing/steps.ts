// Test support: steps the distributed tests run on workers, exported at the top level of their
// module so a worker can load them (a job names module and export). Outputs never depend on the
// host; which process ran a step goes to $KILN_TEST_STEP_STARTS (tests read it to kill a worker
// mid-step).
import { appendFileSync } from "node:fs"
import { dirname, join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { defineStep, StepError } from "../../../engine/index.ts"

const noteStart = (what: string) => {
  const file = process.env.KILN_TEST_STEP_STARTS
  if (file !== undefined) appendFileSync(file, `${what} ${process.pid}\n`)
}

/** Text from params; `sleepMs` holds the step open (so a test can kill its worker mid-step). */
export const write = defineStep({
  name: "write",
  version: 1,
  params: z.object({ text: z.string(), sleepMs: z.number().int().nonnegative().default(0) }),
  inputs: {},
  output: "text",
  run: (ctx) =>
    Effect.gen(function* () {
      noteStart(`write ${ctx.nodeId}`)
      yield* ctx.log(`writing ${ctx.params.text.length} characters`)
      if (ctx.params.sleepMs > 0) yield* Effect.sleep(ctx.params.sleepMs)
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), ctx.params.text))
    }),
})

/** Upper-cases its input, `times` times over. */
export const shout = defineStep({
  name: "shout",
  version: 1,
  params: z.object({ times: z.number().int().positive().default(1) }),
  inputs: { text: "text" },
  output: "text",
  run: (ctx) =>
    Effect.gen(function* () {
      noteStart(`shout ${ctx.nodeId}`)
      const text = yield* Effect.promise(() => Bun.file(join(ctx.inputs.text.path, "text.txt")).text())
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), text.toUpperCase().repeat(ctx.params.times)))
    }),
})

/** Joins two inputs. */
export const concat = defineStep({
  name: "concat",
  version: 1,
  params: z.object({ sep: z.string().default("|") }),
  inputs: { left: "text", right: "text" },
  main: "left",
  output: "text",
  run: (ctx) =>
    Effect.gen(function* () {
      noteStart(`concat ${ctx.nodeId}`)
      const a = yield* Effect.promise(() => Bun.file(join(ctx.inputs.left.path, "text.txt")).text())
      const b = yield* Effect.promise(() => Bun.file(join(ctx.inputs.right.path, "text.txt")).text())
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), a + ctx.params.sep + b))
    }),
})

/**
 * Fails until attempt `passOn` (attempts counted in a file beside $KILN_TEST_STEP_STARTS, per
 * `tag`); `transient` marks the failure retryable.
 */
export const flaky = defineStep({
  name: "flaky",
  version: 1,
  params: z.object({ transient: z.boolean(), passOn: z.number().int().positive().default(1_000), tag: z.string() }),
  inputs: {},
  output: "text",
  run: (ctx) =>
    Effect.gen(function* () {
      const counter = join(dirname(process.env.KILN_TEST_STEP_STARTS ?? "/nonexistent/x"), `flaky-${ctx.params.tag}`)
      const attempt = (yield* Effect.promise(() => Bun.file(counter).text().catch(() => ""))).length + 1
      appendFileSync(counter, "x")
      yield* ctx.log(`attempt ${attempt}`)
      if (attempt < ctx.params.passOn) return yield* new StepError({ message: `flaky failure on attempt ${attempt}`, transient: ctx.params.transient, hint: "a test step" })
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), `passed on attempt ${attempt}`))
    }),
})

/** A step that needs an accelerator: it goes to the device:<target> queue. */
export const onDevice = defineStep({
  name: "on-device",
  version: 1,
  params: z.object({ target: z.string().default("vacc") }),
  inputs: { text: "text" },
  output: "text",
  resources: "device",
  runsOn: (params) => params.target,
  run: (ctx) =>
    Effect.gen(function* () {
      noteStart(`on-device ${ctx.nodeId}`)
      const text = yield* Effect.promise(() => Bun.file(join(ctx.inputs.text.path, "text.txt")).text())
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "text.txt"), `${ctx.params.target}:${text}`))
    }),
})

/** Writes its number: the dispatch-overhead benchmark's step. */
export const empty = defineStep({
  name: "empty",
  version: 1,
  params: z.object({ n: z.number().int() }),
  inputs: {},
  output: "text",
  run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "n.txt"), String(ctx.params.n))),
})
