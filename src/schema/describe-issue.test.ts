// Zod issues read as sentences naming the field, what it must be and what it was; the JSON-file
// reader names the file for unreadable, non-JSON and mismatching content.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { z } from "zod"
import { describeFlagIssues, describeIssues } from "./describe-issue.ts"
import { JsonFileError, readJsonFile } from "./read-json-file.ts"

const dir = mkdtempSync(join(tmpdir(), "kiln-schema-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const sentence = (schema: z.ZodType, value: unknown): string => {
  const parsed = schema.safeParse(value)
  if (parsed.success) throw new Error("expected the value to fail")
  return describeIssues(parsed.error, value, { schema })
}

describe("describeIssues", () => {
  test("numbers: bounds in symbols, positive and non-negative integers in words, with the value", () => {
    expect(sentence(z.object({ data_offsets: z.tuple([z.int().nonnegative(), z.int().nonnegative()]) }), { data_offsets: [-1, 4] })).toBe(
      "data_offsets[0] must be a non-negative integer, got -1",
    )
    expect(sentence(z.object({ hidden_size: z.int().positive() }), { hidden_size: -3 })).toBe("hidden_size must be a positive integer, got -3")
    expect(sentence(z.object({ eps: z.number().positive() }), { eps: 0 })).toBe("eps must be a positive number, got 0")
    expect(sentence(z.object({ opset: z.int().min(17).max(21) }), { opset: 30 })).toBe("opset must be ≤ 21, got 30")
    expect(sentence(z.object({ opset: z.int().min(17) }), { opset: 3 })).toBe("opset must be ≥ 17, got 3")
    expect(sentence(z.object({ step: z.number().multipleOf(4) }), { step: 6 })).toBe("step must be a multiple of 4, got 6")
  })

  test("types, missing fields, enums and literals", () => {
    expect(sentence(z.object({ layers: z.int() }), { layers: 1.5 })).toBe("layers must be an integer, got 1.5")
    expect(sentence(z.object({ name: z.string() }), { name: 3 })).toBe('name must be a string, got 3')
    expect(sentence(z.object({ name: z.string() }), {})).toBe("name is missing (expected a string)")
    expect(sentence(z.object({ task: z.enum(["embedding", "reranker"]) }), { task: "x" })).toBe('task must be one of "embedding", "reranker", got "x"')
    expect(sentence(z.object({ kind: z.literal("absolute") }), { kind: "rel" })).toBe('kind must be "absolute", got "rel"')
    expect(sentence(z.object({ flag: z.boolean() }), { flag: "yes" })).toBe('flag must be true or false, got "yes"')
  })

  test("nested paths, arrays, strings, unknown keys, the root, and a cap on the count", () => {
    expect(sentence(z.object({ a: z.array(z.object({ b: z.number() })) }), { a: [{ b: 1 }, { b: "2" }] })).toBe('a[1].b must be a number, got "2"')
    expect(sentence(z.object({ ids: z.array(z.int()).min(1) }), { ids: [] })).toBe("ids must have at least 1 item, got an empty array")
    expect(sentence(z.object({ name: z.string().min(1) }), { name: "" })).toBe('name must not be empty, got ""')
    expect(sentence(z.strictObject({ a: z.number() }), { a: 1, extra: 2, more: 3 })).toBe('the value has unknown fields "extra", "more"')
    expect(sentence(z.object({ a: z.number() }), [1])).toBe("the value must be an object, got an array of 1")
    const many = z.object({ a: z.number(), b: z.number(), c: z.number(), d: z.number(), e: z.number() })
    expect(sentence(many, {})).toBe(
      "a is missing (expected a number); b is missing (expected a number); c is missing (expected a number); and 2 more problems",
    )
  })

  test("a discriminated union names the allowed values of its discriminator", () => {
    const scheme = z.discriminatedUnion("scheme", [z.object({ scheme: z.literal("a") }), z.object({ scheme: z.literal("b"), n: z.number() })])
    expect(sentence(scheme, { scheme: "c" })).toBe('scheme must be one of "a", "b", got "c"')
  })

  test("a long value is summarised, not dumped", () => {
    expect(sentence(z.object({ n: z.number() }), { n: "x".repeat(500) })).toBe("n must be a number, got a string of 502 characters")
  })
})

describe("readJsonFile", () => {
  const Config = z.object({ hidden_size: z.int().positive() })
  const fail = (path: string): JsonFileError => {
    try {
      readJsonFile(path, Config, "the model config")
    } catch (error) {
      expect(error).toBeInstanceOf(JsonFileError)
      return error as JsonFileError
    }
    throw new Error("expected a JsonFileError")
  }

  test("a valid file is parsed and validated", () => {
    writeFileSync(join(dir, "ok.json"), JSON.stringify({ hidden_size: 8, other: 1 }))
    expect(readJsonFile(join(dir, "ok.json"), Config, "the model config")).toEqual({ hidden_size: 8 })
  })

  test("missing, not JSON and mismatching files each name the file; a mismatch names the field", () => {
    const missing = fail(join(dir, "nope.json"))
    expect([missing.problem, missing.message]).toEqual(["unreadable", `${join(dir, "nope.json")}: cannot read the model config (no such file)`])
    writeFileSync(join(dir, "broken.json"), "{ hidden_size: ")
    const broken = fail(join(dir, "broken.json"))
    expect(broken.problem).toBe("not-json")
    expect(broken.message).toStartWith(`${join(dir, "broken.json")}: the model config is not valid JSON (`)
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ hidden_size: -3 }))
    const bad = fail(join(dir, "bad.json"))
    expect([bad.problem, bad.field, bad.message]).toEqual(["invalid", "hidden_size", `${join(dir, "bad.json")}: hidden_size must be a positive integer, got -3`])
  })

  test("toError turns the problem into the caller's own error", () => {
    class MyError extends Error {}
    expect(() => readJsonFile(join(dir, "nope.json"), Config, "the model config", (e) => new MyError(e.detail))).toThrow(MyError)
  })
})

describe("describeFlagIssues", () => {
  const flags = z.object({ task: z.enum(["embedding", "reranker"]), out: z.string().min(1), seqlen: z.coerce.number().pipe(z.int().min(2)).optional() })
  const lines = (values: Record<string, unknown>): string[] => {
    const parsed = flags.safeParse(values)
    if (parsed.success) throw new Error("expected the flags to fail")
    return describeFlagIssues(parsed.error, values, flags)
  }

  test("a bad value names the flag as typed, what it must be and what was given", () => {
    expect(lines({ task: "classify", out: "x", seqlen: "1" })).toEqual(['--task must be one of "embedding", "reranker", got "classify"', '--seqlen must be ≥ 2, got "1"'])
    expect(lines({ task: "embedding", out: "x", seqlen: "ten" })).toEqual(['--seqlen must be an integer, got "ten"'])
  })

  test("z.number().int() reads as an integer like z.int()", () => {
    expect(sentence(z.object({ repeat: z.number().int().positive() }), { repeat: "many" })).toBe('repeat must be an integer, got "many"')
    expect(sentence(z.object({ repeat: z.number().int().positive() }), { repeat: 0 })).toBe("repeat must be a positive integer, got 0")
  })

  test("an absent required flag is required, with its choices when it has some", () => {
    expect(lines({})).toEqual(['--task is required (one of "embedding", "reranker")', "--out is required"])
  })
})
