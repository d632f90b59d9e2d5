// What re-runs and what is served from the cache, fan-in/fan-out, and failures of steps.
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { z } from "zod"
import { countingSteps, freshDirsPerTest, runCaptured } from "../../tests/support.ts"
import { defineStep, local, pipeline, StepError } from "./index.ts"

const fresh = freshDirsPerTest()

const diamond = (s: ReturnType<typeof countingSteps>, text = "ab", suffix = "") => {
  const a = s.emit({ text })
  const b = s.emit({ text: "cd" }).as("other")
  const up = s.upper({ suffix }).to(a)
  return pipeline("diamond", a).then(s.upper({ suffix: "~" }).as("up2")).then(s.join({}, { right: up })).also(b)
}

describe("cache semantics", () => {
  test("a second run is served entirely from the cache", async () => {
    const dir = fresh()
    const s = countingSteps()
    const first = await runCaptured(diamond(s), dir)
    expect(first.code).toBe(0)
    expect(first.json.steps.every((x) => x.status === "ran")).toBe(true)
    const ranFirst = s.runs.length
    const second = await runCaptured(diamond(s), dir)
    expect(second.code).toBe(0)
    expect(s.runs.length).toBe(ranFirst)
    expect(Object.values(second.status).every((x) => x === "cached")).toBe(true)
    const joined = second.json.steps.find((x) => x.id === "join")!
    expect(readFileSync(join(joined.outputs.out!.path, "text.txt"), "utf8")).toBe("AB~+AB")
    expect(joined.key).toMatch(/^[0-9a-f]{64}$/)
  })

  test("a param change re-runs that node and its downstream, nothing else", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(diamond(s), dir)
    s.runs.length = 0
    const r = await runCaptured(diamond(s, "ab", "!"), dir)
    expect(r.code).toBe(0)
    expect(s.runs.sort()).toEqual(["join", "upper"])
    expect(r.status).toMatchObject({ emit: "cached", other: "cached", up2: "cached", upper: "ran", join: "ran" })
  })

  test("--set overrides a param and is validated by the step's schema", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(diamond(s), dir)
    s.runs.length = 0
    const r = await runCaptured(diamond(s), dir, ["--set", "emit.repeat=2"])
    expect(r.code).toBe(0)
    expect(s.runs.sort()).toEqual(["emit", "join", "up2", "upper"])
    const bad = await runCaptured(diamond(s), dir, ["--set", "emit.repeat=\"many\""])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('node "emit"')
    expect(bad.stderr).toContain('repeat must be an integer, got "many"')
  })

  test("reordering param keys in source changes nothing", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(pipeline("p", s.emit({ text: "x", repeat: 2 })), dir)
    s.runs.length = 0
    const r = await runCaptured(pipeline("p", s.emit({ repeat: 2, text: "x" })), dir)
    expect(r.status.emit).toBe("cached")
    expect(s.runs).toEqual([])
  })

  test("a step version bump invalidates only that step's nodes and their downstream", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(diamond(s), dir)
    s.runs.length = 0
    const upperV2 = defineStep({
      name: "upper",
      version: 2,
      params: z.object({ suffix: z.string().default("") }),
      inputs: { text: "text" },
      output: "text",
      run: s.upper.definition.run,
    })
    const a = s.emit({ text: "ab" })
    const p = pipeline("diamond", a).then(s.upper({ suffix: "~" }).as("up2")).then(s.join({}, { right: upperV2({}).to(a) })).also(s.emit({ text: "cd" }).as("other"))
    const r = await runCaptured(p, dir)
    expect(r.status).toMatchObject({ emit: "cached", other: "cached", up2: "cached", upper: "ran", join: "cached" })
    // upper's output is identical under v2, so join's key is unchanged: content addressing at work.
    expect(s.runs).toEqual(["upper"])
  })

  test("an input file change re-runs its consumers; an unchanged file is not re-hashed", async () => {
    const dir = fresh()
    const s = countingSteps()
    const src = join(dir, "input")
    mkdirSync(src)
    writeFileSync(join(src, "text.txt"), "hello")
    const p = () => pipeline("files", local("text", src, "input")).then(s.upper({}))
    expect((await runCaptured(p(), dir)).status).toMatchObject({ input: "cached", upper: "ran" })
    expect((await runCaptured(p(), dir)).status.upper).toBe("cached")
    writeFileSync(join(src, "text.txt"), "world")
    s.runs.length = 0
    const r = await runCaptured(p(), dir)
    expect(r.status.upper).toBe("ran")
    const out = r.json.steps.find((x) => x.id === "upper")!.outputs.out!.path
    expect(readFileSync(join(out, "text.txt"), "utf8")).toBe("WORLD")
  })

  test("--force re-runs a node; --until runs only a node and its ancestors", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(diamond(s), dir)
    s.runs.length = 0
    const forced = await runCaptured(diamond(s), dir, ["--force", "upper"])
    expect(forced.status.upper).toBe("ran")
    expect(s.runs).toEqual(["upper"])
    const d2 = fresh()
    const s2 = countingSteps()
    const until = await runCaptured(diamond(s2), d2, ["--until", "up2"])
    expect(until.code).toBe(0)
    expect(s2.runs.sort()).toEqual(["emit", "up2"])
    expect(until.status.join).toBe("skipped")
  })

  test("--dry-run says which param changed and runs nothing", async () => {
    const dir = fresh()
    const s = countingSteps()
    await runCaptured(diamond(s), dir)
    s.runs.length = 0
    const r = await runCaptured(diamond(s, "xy"), dir, ["--dry-run"])
    expect(r.code).toBe(0)
    expect(s.runs).toEqual([])
    const emit = r.json.steps.find((x) => x.id === "emit")!
    expect(emit.reason).toContain('param text: "ab" → "xy"')
    expect(r.json.steps.find((x) => x.id === "other")!.status).toBe("cached")
    expect(r.json.steps.find((x) => x.id === "join")!.reason).toContain("upstream")
  })

  test("a pipeline variant keeps its own lock file (pipeline.<variant>.lock.json) and --frozen reads that one", async () => {
    const dir = fresh()
    const s = countingSteps()
    expect((await runCaptured(pipeline("p", s.emit({ text: "cpu" })), dir)).code).toBe(0)
    const plain = readFileSync(join(dir, "pipeline.lock.json"), "utf8")
    expect((await runCaptured(pipeline("p", s.emit({ text: "card" }), { variant: "vacc" }), dir)).code).toBe(0)
    expect(readFileSync(join(dir, "pipeline.lock.json"), "utf8")).toBe(plain)
    expect(readFileSync(join(dir, "pipeline.vacc.lock.json"), "utf8")).toContain('"emit"')
    expect((await runCaptured(pipeline("p", s.emit({ text: "card" }), { variant: "vacc" }), dir, ["--frozen"])).code).toBe(0)
    expect((await runCaptured(pipeline("p", s.emit({ text: "cpu" })), dir, ["--frozen"])).code).toBe(0)
    // The variant's lock holds the variant: the other graph drifts from it.
    expect((await runCaptured(pipeline("p", s.emit({ text: "cpu" }), { variant: "vacc" }), dir, ["--frozen"])).code).toBe(1)
    expect(() => pipeline("p", s.emit({ text: "x" }), { variant: "../Vacc" })).toThrow('variant "../Vacc" must be lower-case letters, digits and dashes')
  })

  test("the same node used in two pipelines is one cache entry", async () => {
    const dir = fresh()
    const s = countingSteps()
    const shared = s.emit({ text: "shared" })
    await runCaptured(pipeline("one", shared).then(s.upper({})), dir)
    const r = await runCaptured(pipeline("two", shared).then(s.upper({ suffix: "?" })), dir)
    expect(r.status.emit).toBe("cached")
    expect(s.runs.filter((x) => x === "emit")).toHaveLength(1)
  })
})

describe("failures", () => {
  test("a step that throws fails with its message, log path and tail; downstream is skipped", async () => {
    const dir = fresh()
    const s = countingSteps()
    const boom = defineStep({
      name: "boom",
      version: 1,
      params: z.object({}),
      inputs: { text: "text" },
      output: "text",
      run: (ctx) =>
        Effect.gen(function* () {
          yield* ctx.log("about to fail")
          throw new Error("kaboom")
        }),
    })
    const r = await runCaptured(pipeline("p", s.emit({ text: "a" })).then(boom()).then(s.upper({})), dir)
    expect(r.code).toBe(1)
    expect(r.json.ok).toBe(false)
    expect(r.status).toMatchObject({ emit: "ran", boom: "failed", upper: "skipped" })
    const failed = r.json.steps.find((x) => x.id === "boom")!
    expect(failed.error!.message).toContain("kaboom")
    expect(readFileSync(failed.error!.logPath!, "utf8")).toContain("about to fail")
    expect(r.stderr).toContain("about to fail")
    expect(existsSync(join(dir, "pipeline.lock.json"))).toBe(false)
  })

  test("a StepError's hint reaches the user", async () => {
    const dir = fresh()
    const bad = defineStep({ name: "bad", version: 1, params: z.object({}), inputs: {}, output: "x", run: () => Effect.fail(new StepError({ message: "no model here", hint: "pass --model-dir" })) })
    const r = await runCaptured(pipeline("p", bad()), dir)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("no model here")
    expect(r.stderr).toContain("pass --model-dir")
  })

  test("fingerprint and resources see the input folders: what an input holds can decide the key", async () => {
    const dir = fresh()
    const s = countingSteps()
    // A step keyed on whatever its input folder says (as evaluate keys on the tools of the target that made its deployment).
    const keyed = defineStep({
      name: "keyed",
      version: 1,
      params: z.object({}),
      inputs: { text: "text" },
      output: "text",
      fingerprint: (_p, inputs) => ({ tool: readFileSync(join(inputs.text, "text.txt"), "utf8") }),
      resources: (_p, inputs) => (existsSync(join(inputs.text, "text.txt")) ? "io" : "cpu"),
      run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "t"), "done")),
    })
    const r = await runCaptured(pipeline("p", s.emit({ text: "v1" })).then(keyed()), dir)
    expect(r.code).toBe(0)
    const r2 = await runCaptured(pipeline("p", s.emit({ text: "v2" })).then(keyed()), dir)
    expect(r2.status.keyed).toBe("ran")
    expect(r2.json.steps.find((x) => x.id === "keyed")!.reason).toContain('fingerprint tool: "v1" → "v2"')
  })

  test("a fingerprint that cannot be computed here (a missing tool) fails its node with message and hint; --dry-run reports it and plans on", async () => {
    const dir = fresh()
    const s = countingSteps()
    const onCard = defineStep({
      name: "onCard",
      version: 1,
      params: z.object({}),
      inputs: { text: "text" },
      output: "text",
      fingerprint: () => {
        throw new StepError({ message: "vamc not found: KILN_VAMC is unset", hint: "set KILN_VAMC" })
      },
      run: (ctx) => Effect.promise(() => Bun.write(join(ctx.outDir, "t"), "never")),
    })
    const p = () => pipeline("p", s.emit({ text: "a" })).then(onCard()).then(s.upper({})).also(s.emit({ text: "b" }).as("other"))
    const r = await runCaptured(p(), dir)
    expect(r.code).toBe(1)
    expect(r.status).toMatchObject({ emit: "ran", other: "ran", onCard: "failed", upper: "skipped" })
    expect(r.stderr).toContain("vamc not found: KILN_VAMC is unset")
    expect(r.stderr).toContain("set KILN_VAMC")
    // Its input is cached now, so a dry run reaches the node: it says why it cannot run, and plans the rest.
    const dry = await runCaptured(p(), dir, ["--dry-run"])
    expect(dry.code).toBe(0)
    expect(dry.stderr).toContain("onCard (onCard) — cannot run here: vamc not found: KILN_VAMC is unset (set KILN_VAMC)")
    expect(dry.status).toMatchObject({ emit: "cached", other: "cached", onCard: "skipped", upper: "skipped" })
  })

  test("a step that writes nothing fails and caches nothing", async () => {
    const dir = fresh()
    const lazy = defineStep({ name: "lazy", version: 1, params: z.object({}), inputs: {}, output: "x", run: () => Effect.void })
    const r = await runCaptured(pipeline("p", lazy()), dir)
    expect(r.code).toBe(1)
    expect(r.json.steps[0]!.error!.message).toContain("wrote no output")
    expect(existsSync(join(dir, "cache", "ac.v1"))).toBe(false)
    expect(readdirSync(join(dir, "cache", "tmp"))).toEqual([])
  })

  test("unknown nodes in --force, --until and --set are named", async () => {
    const dir = fresh()
    const s = countingSteps()
    for (const args of [["--force", "nope"], ["--until", "nope"], ["--set", "nope.text=1"]]) {
      const r = await runCaptured(diamond(s), dir, args)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('unknown node "nope"')
      expect(r.stderr).toContain("emit")
    }
    expect(s.runs).toEqual([])
  })
})

describe("concurrency", () => {
  const sleeper = (log: string[]) =>
    defineStep({
      name: "sleeper",
      version: 1,
      params: z.object({ tag: z.string() }),
      inputs: {},
      output: "x",
      run: (ctx) =>
        Effect.gen(function* () {
          log.push(`+${ctx.params.tag}`)
          yield* Effect.sleep("150 millis")
          log.push(`-${ctx.params.tag}`)
          yield* Effect.promise(() => Bun.write(join(ctx.outDir, "x"), ctx.params.tag))
        }),
    })
  test("--jobs 1 runs independent cpu steps one at a time; --jobs 2 overlaps them", async () => {
    for (const [jobs, overlapped] of [["1", false], ["2", true]] as const) {
      const dir = fresh()
      const log: string[] = []
      const s = sleeper(log)
      const r = await runCaptured(pipeline("p", s({ tag: "a" })).also(s({ tag: "b" })), dir, ["--jobs", jobs])
      expect(r.code).toBe(0)
      expect(log[1]!.startsWith("+")).toBe(overlapped)
    }
  }, 30_000)
})

describe("step contract", () => {
  test("a step's typed error renders its message and hint", async () => {
    const dir = fresh()
    class ExportError extends Data.TaggedError("ExportError")<{ readonly message: string; readonly hint?: string }> {}
    const failing = defineStep({
      name: "failing",
      version: 1,
      params: z.object({}),
      inputs: {},
      output: "x",
      run: () => Effect.fail(new ExportError({ message: "config.json: hidden_size missing", hint: "is this a BERT checkpoint?" })),
    })
    const r = await runCaptured(pipeline("p", failing()), dir)
    expect(r.code).toBe(1)
    expect(r.json.steps[0]!.error!.message).toContain("config.json: hidden_size missing")
    expect(r.stderr).toContain("is this a BERT checkpoint?")
  })

  test("a step's required service comes from the run's layers; without it the step fails naming the service", async () => {
    const dir = fresh()
    class Accelerator extends Context.Service<Accelerator, { readonly cards: number }>()("kiln/TestAccelerator") {}
    const needy = defineStep({
      name: "needy",
      version: 1,
      params: z.object({}),
      inputs: {},
      output: "x",
      run: (ctx) =>
        Effect.gen(function* () {
          const acc = yield* Accelerator
          yield* Effect.promise(() => Bun.write(join(ctx.outDir, "x"), String(acc.cards)))
        }),
    })
    const r = await runCaptured(pipeline("p", needy()), dir)
    expect(r.code).toBe(1)
    expect(r.json.steps[0]!.error!.message).toContain("kiln/TestAccelerator")
    const provided = await runCaptured(pipeline("p", needy()), dir, [], { services: Layer.succeed(Accelerator)({ cards: 2 }) })
    expect(provided.code).toBe(0)
    expect(readFileSync(join(provided.json.steps[0]!.outputs.out!.path, "x"), "utf8")).toBe("2")
  })

  test("an exclusive (measurement) step runs with nothing else in flight, even with --jobs 4", async () => {
    const dir = fresh()
    const log: string[] = []
    const make = (name: string, resources: "cpu" | "exclusive") =>
      defineStep({
        name,
        version: 1,
        params: z.object({}),
        inputs: {},
        output: "x",
        resources,
        run: (ctx) =>
          Effect.gen(function* () {
            log.push(`+${name}`)
            yield* Effect.sleep("60 millis")
            log.push(`-${name}`)
            yield* Effect.promise(() => Bun.write(join(ctx.outDir, "x"), name))
          }),
      })
    const r = await runCaptured(pipeline("p", make("a", "cpu")()).also(make("measure", "exclusive")(), make("b", "cpu")(), make("c", "cpu")()), dir, ["--jobs", "4"])
    expect(r.code).toBe(0)
    const start = log.indexOf("+measure")
    expect(log[start + 1]).toBe("-measure")
  })
})
