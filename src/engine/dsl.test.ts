// The DSL's contract: params validated at construction, kinds checked at compile time, graphs
// without cycles or dangling inputs, ids that name nodes.
import { describe, expect, test } from "bun:test"
import * as Effect from "effect/Effect"
import { z } from "zod"
import { countingSteps } from "../../tests/support.ts"
import { buildGraph, defineStep, local, pipeline, PipelineDefinitionError, toMermaid, type Node } from "./index.ts"

const exportLike = defineStep({
  name: "exportLike",
  version: 1,
  params: z.object({ seqlen: z.number().int().positive(), task: z.enum(["embedding", "reranker"]).default("embedding") }),
  inputs: { checkpoint: "hf-checkpoint" },
  output: "onnx-model",
  run: () => Effect.void,
})
const quantizeLike = defineStep({
  name: "quantizeLike",
  version: 1,
  params: z.object({}),
  inputs: { model: "onnx-model", calibration: "calibration-set" },
  main: "model",
  output: "onnx-model",
  run: () => Effect.void,
})

describe("params", () => {
  test("a mistyped param names the step, the field and what was expected", () => {
    expect(() => exportLike({ seqlen: "512" as unknown as number })).toThrow(/exportLike.*invalid params: seqlen must be an integer, got "512"/)
  })
  test("an unknown enum value lists the allowed values", () => {
    expect(() => exportLike({ seqlen: 8, task: "m4" as "embedding" })).toThrow(/task must be one of "embedding", "reranker", got "m4"/)
  })
  test("a missing fan-in input is an error naming it", () => {
    expect(() => (quantizeLike as unknown as (p: object, i: object) => unknown)({}, {})).toThrow(/input "calibration" is missing/)
  })
  test("a step with several inputs must name its main input", () => {
    expect(() => defineStep({ name: "x", version: 1, params: z.object({}), inputs: { a: "k", b: "k" }, output: "k", run: () => Effect.void })).toThrow(
      PipelineDefinitionError,
    )
  })
})

describe("kinds are checked at compile time", () => {
  test("then() accepts a step whose main input kind matches the upstream node", () => {
    const ckpt = local("hf-checkpoint", "/models/bge")
    const calib = local("calibration-set", "/calib")
    const p = pipeline("ok", ckpt).then(exportLike({ seqlen: 8 })).then(quantizeLike({}, { calibration: calib }))
    expect(p.tail.kind).toBe("onnx-model")
  })
  test("a mismatched kind does not type-check (tsc --noEmit runs in CI)", () => {
    const ckpt = local("hf-checkpoint", "/models/bge")
    const calib = local("calibration-set", "/calib")
    // @ts-expect-error quantizeLike takes an onnx-model, not an hf-checkpoint
    pipeline("bad", ckpt).then(quantizeLike({}, { calibration: calib }))
    // @ts-expect-error the fan-in input must be a calibration-set node
    quantizeLike({}, { calibration: ckpt })
    // @ts-expect-error unknown param field
    exportLike({ seqlen: 8, seqLen: 8 })
    // The assertions are the @ts-expect-error lines: tsc --noEmit fails if any of them type-checks.
  })
})

describe("graph", () => {
  test("ids are step names, numbered when repeated; labels win", () => {
    const s = countingSteps()
    const a = s.emit({ text: "a" })
    const g = buildGraph([s.upper({}).to(a), s.upper({ suffix: "!" }).to(a), s.upper({ suffix: "?" }).as("shout").to(a)])
    expect(g.nodes.map((n) => n.id)).toEqual(["emit", "upper", "upper-2", "shout"])
    expect(toMermaid(g)).toContain("emit -->|text| upper_2")
  })
  test("a cycle is a clear error", () => {
    const s = countingSteps()
    const a = s.emit({ text: "a" })
    // Nodes are frozen values, so a cycle can only come from hand-built objects; it must still be caught.
    const cyclic: { inputs: Record<string, unknown> } = { ...s.upper({}).to(a), inputs: {} }
    cyclic.inputs.text = cyclic
    expect(() => buildGraph([cyclic as Node<string>])).toThrow(/cycle in the pipeline graph: upper → upper/)
  })
  test("a dangling input is a clear error", () => {
    const s = countingSteps()
    const a = s.emit({ text: "a" })
    const up = s.upper({}).to(a)
    const dangling = { ...up, inputs: { text: undefined } } as unknown as Node<string>
    expect(() => buildGraph([dangling])).toThrow(/input "text" is not connected/)
  })
  test("two different nodes with one label are rejected", () => {
    const s = countingSteps()
    expect(() => buildGraph([s.emit({ text: "a" }).as("x"), s.emit({ text: "b" }).as("x")])).toThrow(/both named "x"/)
  })
})
