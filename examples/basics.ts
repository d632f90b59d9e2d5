// A runnable pipeline of pure-TypeScript steps showing the DSL: a generated corpus fans out to two
// analyses, which fan back in to a report. Run it twice: the second run is served from the cache.
//   bun run examples/basics.ts            # then again, or with --dry-run, --set corpus.lines=500
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { main } from "../src/cli/index.ts"
import { defineStep, pipeline, StepError } from "../src/engine/index.ts"

/** Deterministic pseudo-random words, so the corpus is the same on every machine. */
const words = (seed: number, count: number): string[] => {
  const syllables = ["ka", "lo", "mi", "ren", "tu", "sha", "vo", "el", "dri", "an", "qu", "is"]
  let state = seed >>> 0 || 1
  const next = () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
  return Array.from({ length: count }, () => {
    const n = 1 + Math.floor(next() * 3)
    return Array.from({ length: n }, () => syllables[Math.floor(next() * syllables.length)]).join("")
  })
}

export const corpus = defineStep({
  name: "corpus",
  version: 1,
  params: z.object({ lines: z.number().int().positive().default(200), wordsPerLine: z.number().int().positive().default(8), seed: z.number().int().default(7) }),
  inputs: {},
  output: "text",
  run: (ctx) =>
    Effect.gen(function* () {
      const all = words(ctx.params.seed, ctx.params.lines * ctx.params.wordsPerLine)
      const lines: string[] = []
      for (let i = 0; i < ctx.params.lines; i++) {
        lines.push(all.slice(i * ctx.params.wordsPerLine, (i + 1) * ctx.params.wordsPerLine).join(" "))
        if (i % 50 === 0) yield* ctx.progress(i, ctx.params.lines)
      }
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "corpus.txt"), lines.join("\n") + "\n"))
      yield* ctx.log(`wrote ${lines.length} lines`)
    }),
})

const readCorpus = (dir: string) => Effect.promise(() => Bun.file(join(dir, "corpus.txt")).text())

export const wordCounts = defineStep({
  name: "wordCounts",
  version: 1,
  params: z.object({ top: z.number().int().positive().default(10) }),
  inputs: { text: "text" },
  output: "stats",
  run: (ctx) =>
    Effect.gen(function* () {
      const text = yield* readCorpus(ctx.inputs.text.path)
      const counts = new Map<string, number>()
      for (const w of text.split(/\s+/).filter(Boolean)) counts.set(w, (counts.get(w) ?? 0) + 1)
      const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, ctx.params.top)
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "stats.json"), JSON.stringify({ distinct: counts.size, top }, null, 2)))
    }),
})

export const lineLengths = defineStep({
  name: "lineLengths",
  version: 1,
  params: z.object({ buckets: z.number().int().positive().default(5) }),
  inputs: { text: "text" },
  output: "stats",
  run: (ctx) =>
    Effect.gen(function* () {
      const lengths = (yield* readCorpus(ctx.inputs.text.path)).split("\n").filter(Boolean).map((l) => l.length)
      if (lengths.length === 0) return yield* new StepError({ message: "the corpus is empty" })
      // Folded, not Math.min(...lengths): spreading a million-line corpus into a call overflows the stack.
      const min = lengths.reduce((a, b) => Math.min(a, b))
      const max = lengths.reduce((a, b) => Math.max(a, b))
      const width = Math.max(1, Math.ceil((max - min + 1) / ctx.params.buckets))
      const histogram = Array.from({ length: ctx.params.buckets }, () => 0)
      for (const l of lengths) histogram[Math.min(ctx.params.buckets - 1, Math.floor((l - min) / width))]! += 1
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "stats.json"), JSON.stringify({ min, width, histogram }, null, 2)))
    }),
})

export const report = defineStep({
  name: "report",
  version: 1,
  params: z.object({ title: z.string().default("Corpus report") }),
  inputs: { words: "stats", lengths: "stats" },
  main: "words",
  output: "report",
  run: (ctx) =>
    Effect.gen(function* () {
      const w = yield* Effect.promise(() => Bun.file(join(ctx.inputs.words.path, "stats.json")).json())
      const l = yield* Effect.promise(() => Bun.file(join(ctx.inputs.lengths.path, "stats.json")).json())
      const md = [
        `# ${ctx.params.title}`,
        "",
        `${w.distinct} distinct words. Most frequent:`,
        ...w.top.map(([word, n]: [string, number]) => `- ${word}: ${n}`),
        "",
        `Line lengths from ${l.min}, bucket width ${l.width}: ${l.histogram.join(" ")}`,
      ].join("\n")
      yield* Effect.promise(() => Bun.write(join(ctx.outDir, "report.md"), md + "\n"))
    }),
})

const text = corpus({ lines: 200 })
const lengths = lineLengths().to(text)

export default main(
  import.meta,
  pipeline("basics", text)
    .then(wordCounts({ top: 10 }))
    .then(report({}, { lengths })),
)
