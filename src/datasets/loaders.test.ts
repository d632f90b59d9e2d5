// Proves each loader against generated temp files: every format, the limit option, and that each
// kind of bad input produces a DatasetError naming file:line and what was expected.

import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatasetError, loadChineseStsB, loadRerankingJsonl, loadStsBenchmark, loadStsJsonl, MAX_RECORD_BYTES } from "./index.ts"

let dir = ""
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kiln-datasets-"))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, lines: readonly string[]): string => {
  const path = join(dir, name)
  writeFileSync(path, lines.join("\n"))
  return path
}
const json = (value: unknown): string => JSON.stringify(value)

/** Awaits a load expected to fail and returns its DatasetError (failing the test otherwise). */
const failure = async (load: Promise<unknown>): Promise<DatasetError> => {
  try {
    await load
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetError)
    return error as DatasetError
  }
  throw new Error("expected the load to fail")
}

describe("record size limit", () => {
  test("a line over the per-record limit names file and line, in JSON lines and tab-separated files", async () => {
    const huge = "x".repeat(MAX_RECORD_BYTES + 1)
    const jsonl = write("huge.jsonl", [json({ sentence1: "a", sentence2: "b", score: 1 }), json({ sentence1: huge, sentence2: "b", score: 1 })])
    const error = await failure(loadStsJsonl(jsonl))
    expect(error.reason).toBe("record-too-large")
    expect(error.line).toBe(2)
    expect(error.message).toMatch(new RegExp(`^${jsonl.replace(/[.]/g, "\\.")}:2: the line is 1,048,6\\d\\d bytes, over the 1 MiB limit for one record`))
    const tsv = write("huge.tsv", ["a\tb\t1", `${huge}\tb\t1`])
    expect((await failure(loadChineseStsB(tsv))).message).toStartWith(`${tsv}:2: the line is`)
  })

  test("the limit counts UTF-8 bytes, and a line just under it is read", async () => {
    const path = write("wide.jsonl", [json({ sentence1: "ü".repeat(MAX_RECORD_BYTES / 2), sentence2: "b", score: 1 })])
    expect((await failure(loadStsJsonl(path))).reason).toBe("record-too-large")
    const fits = write("fits.jsonl", [json({ sentence1: "x".repeat(MAX_RECORD_BYTES - 100), sentence2: "b", score: 1 })])
    expect(await loadStsJsonl(fits)).toHaveLength(1)
  })
})

describe("STS JSON lines", () => {
  test("reads pairs, skips blank lines and keeps 0/1 scores", async () => {
    const path = write("bq.jsonl", [json({ sentence1: "a b", sentence2: "c", score: 1, extra: "ignored" }), "", "   ", json({ sentence1: "d", sentence2: "e", score: 0 })])
    expect(await loadStsJsonl(path)).toEqual([
      { sentence1: "a b", sentence2: "c", score: 1 },
      { sentence1: "d", sentence2: "e", score: 0 },
    ])
  })

  test("limit keeps the first records and does not read past them", async () => {
    const path = write("limit.jsonl", [json({ sentence1: "a", sentence2: "b", score: 2.5 }), json({ sentence1: "c", sentence2: "d", score: 4 }), "{broken"])
    expect(await loadStsJsonl(path, { limit: 2 })).toHaveLength(2)
  })

  test("a wrong type names file, line and field", async () => {
    const path = write("sts.jsonl", [json({ sentence1: "a", sentence2: "b", score: 1 }), "", json({ sentence1: "a", sentence2: "b", score: "4.2" })])
    const error = await failure(loadStsJsonl(path))
    expect(error.message).toBe(`${path}:3: score must be a number, got "4.2"`)
    expect(error.line).toBe(3)
    expect(error.reason).toBe("invalid-record")
  })

  test("a missing field is reported as missing", async () => {
    const path = write("missing.jsonl", [json({ sentence1: "a", score: 1 })])
    const error = await failure(loadStsJsonl(path))
    expect(error.message).toBe(`${path}:1: sentence2 is missing (expected a string)`)
  })

  test("invalid JSON names file and line", async () => {
    const path = write("badjson.jsonl", [json({ sentence1: "a", sentence2: "b", score: 1 }), `{"sentence1": "a",`])
    const error = await failure(loadStsJsonl(path))
    expect(error.reason).toBe("invalid-json")
    expect(error.message).toStartWith(`${path}:2: invalid JSON`)
  })

  test("a line that is not an object says so", async () => {
    const path = write("array.jsonl", ["[1, 2]"])
    expect((await failure(loadStsJsonl(path))).message).toBe(`${path}:1: the line must be an object, got an array of 2`)
  })

  test("an empty file, a missing file and a bad limit are errors", async () => {
    const empty = write("empty.jsonl", ["", ""])
    expect((await failure(loadStsJsonl(empty))).reason).toBe("empty")
    const missing = join(dir, "nope.jsonl")
    expect((await failure(loadStsJsonl(missing))).message).toBe(`${missing}: cannot read dataset: file not found`)
    expect((await failure(loadStsJsonl(empty, { limit: 0 }))).message).toContain(`option "limit": expected a positive integer, got 0`)
  })

  test("CRLF line endings and a byte-order mark are tolerated", async () => {
    const path = join(dir, "crlf.jsonl")
    writeFileSync(path, "\ufeff" + json({ sentence1: "a", sentence2: "b", score: 3 }) + "\r\n" + json({ sentence1: "c", sentence2: "d", score: 1 }) + "\r\n")
    expect((await loadStsJsonl(path)).map((p) => p.score)).toEqual([3, 1])
  })
})

describe("reranking JSON lines", () => {
  const passages = (texts: readonly string[]) => texts.map((text, i) => ({ docid: String(i), title: "-", text }))

  test("both layouts, detected per line, normalise to the same shape", async () => {
    const path = write("mixed.jsonl", [
      json({ query_id: "1", query: "q1", positive_passages: passages(["p1"]), negative_passages: passages(["n1", "n2"]) }),
      json({ query: "q2", pos: ["p2", "p3"], neg: ["n3"], pos_scores: [1, 1], prompt: "x" }),
    ])
    expect(await loadRerankingJsonl(path)).toEqual([
      { query: "q1", positives: ["p1"], negatives: ["n1", "n2"] },
      { query: "q2", positives: ["p2", "p3"], negatives: ["n3"] },
    ])
  })

  test("an empty passage list is an error naming the field", async () => {
    const path = write("empty-neg.jsonl", [json({ query: "q", pos: ["p"], neg: ["n"] }), json({ query: "q", positive_passages: passages(["p"]), negative_passages: [] })])
    const error = await failure(loadRerankingJsonl(path))
    expect(error.message).toStartWith(`${path}:2: negative_passages must have at least 1 passage, got an empty array`)
  })

  test("skipIncomplete drops queries with nothing to rank, as MTEB does", async () => {
    const path = write("skip.jsonl", [json({ query: "q", pos: [], neg: ["n"] }), json({ query: "r", pos: ["p"], neg: ["n"] })])
    expect((await loadRerankingJsonl(path, { skipIncomplete: true })).map((q) => q.query)).toEqual(["r"])
  })

  test("a passage without text names the nested field", async () => {
    const path = write("notext.jsonl", [json({ query: "q", positive_passages: [{ docid: "1" }], negative_passages: passages(["n"]) })])
    expect((await failure(loadRerankingJsonl(path))).message).toBe(`${path}:1: positive_passages[0].text is missing (expected a string)`)
  })

  test("a wrong type inside pos names its index", async () => {
    const path = write("badpos.jsonl", [json({ query: "q", pos: ["p", 7], neg: ["n"] })])
    expect((await failure(loadRerankingJsonl(path))).message).toBe(`${path}:1: pos[1] must be a string, got 7`)
  })

  test("a line in neither layout explains both", async () => {
    const path = write("neither.jsonl", [json({ query: "q", passages: ["p"] })])
    expect((await failure(loadRerankingJsonl(path))).message).toBe(
      `${path}:1: expected either {query, positive_passages, negative_passages} or {query, pos, neg}, got neither layout's fields`,
    )
  })

  test("invalid JSON names file and line", async () => {
    const path = write("rerank-bad.jsonl", ["", "not json"])
    expect((await failure(loadRerankingJsonl(path))).message).toStartWith(`${path}:2: invalid JSON`)
  })
})

describe("STS Benchmark (tab-separated .csv)", () => {
  const row = (score: string, s1: string, s2: string, ...extra: string[]) => ["main-news", "headlines", "2015", "0001", score, s1, s2, ...extra].join("\t")

  test("reads scores and keeps quotes literally, ignoring trailing source fields", async () => {
    const path = write("sts-test.csv", [row("2.500", 'He said "stop', "x"), row("4", 'a "b, c" d', "y", "Source: one", "Source: two")])
    const pairs = await loadStsBenchmark(path)
    expect(pairs).toHaveLength(2)
    expect(pairs[0]).toEqual({ sentence1: 'He said "stop', sentence2: "x", score: 2.5, genre: "main-news", source: "headlines", year: "2015", id: "0001" })
    expect(pairs[1]?.sentence1).toBe('a "b, c" d')
  })

  test("a non-numeric or out-of-range score names the column", async () => {
    const path = write("bad-score.csv", [row("3", "a", "b"), row("five", "a", "b")])
    expect((await failure(loadStsBenchmark(path))).message).toBe(`${path}:2: field "score" (column 5): expected a number from 0 to 5, got "five"`)
    const high = write("high-score.csv", [row("7.5", "a", "b")])
    expect((await failure(loadStsBenchmark(high))).message).toContain(`expected a number from 0 to 5, got "7.5"`)
  })

  test("too few fields says which columns were expected", async () => {
    const path = write("short.csv", ["a,b,3"])
    expect((await failure(loadStsBenchmark(path))).message).toBe(`${path}:1: expected 7 tab-separated fields (genre, file, year, id, score, sentence1, sentence2), got 1`)
  })

  test("limit applies", async () => {
    const path = write("limit.csv", [row("1", "a", "b"), row("2", "c", "d"), row("x", "bad", "")])
    expect((await loadStsBenchmark(path, { limit: 2 })).map((p) => p.score)).toEqual([1, 2])
  })
})

describe("Chinese STS-B", () => {
  test("reads sentence TAB sentence TAB score", async () => {
    const path = write("STS-B.test.data", ["一个女人在切洋葱。\t一个女人在切豆腐。\t2", "", "甲\t乙\t5"])
    expect(await loadChineseStsB(path)).toEqual([
      { sentence1: "一个女人在切洋葱。", sentence2: "一个女人在切豆腐。", score: 2 },
      { sentence1: "甲", sentence2: "乙", score: 5 },
    ])
  })

  test("a missing score column names file:line", async () => {
    const path = write("zh-bad.data", ["甲\t乙\t5", "甲\t乙"])
    expect((await failure(loadChineseStsB(path))).message).toBe(`${path}:2: expected 3 tab-separated fields (sentence1, sentence2, score), got 2`)
  })
})
