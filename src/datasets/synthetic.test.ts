// Synthetic STS and reranking fixtures: deterministic, well-formed, and with a real gradient of scores.
import { describe, expect, test } from "bun:test"
import { parseRerankingJsonl, parseStsJsonl, syntheticRerankQueries, syntheticStsPairs } from "./index.ts"

describe("synthetic datasets", () => {
  test("STS pairs are seeded, span the score range and round-trip through the JSONL loader", () => {
    const pairs = syntheticStsPairs(200, 3)
    expect(syntheticStsPairs(200, 3)).toEqual(pairs)
    expect(syntheticStsPairs(200, 4)).not.toEqual(pairs)
    const scores = pairs.map((p) => p.score)
    expect(Math.min(...scores)).toBeLessThan(1)
    expect(Math.max(...scores)).toBe(5)
    const identical = pairs.filter((p) => p.score === 5)
    expect(identical.every((p) => p.sentence1 === p.sentence2)).toBe(true)
    const text = pairs.map((p) => JSON.stringify(p)).join("\n")
    expect(parseStsJsonl(text, "synthetic.jsonl")).toEqual(pairs)
  })
  test("reranking queries have a positive containing the query and distinct negatives", () => {
    const queries = syntheticRerankQueries(10, 1, 5)
    for (const q of queries) {
      expect(q.positives[0]).toContain(q.query)
      expect(q.negatives).toHaveLength(5)
    }
    const text = queries.map((q) => JSON.stringify({ query: q.query, pos: q.positives, neg: q.negatives })).join("\n")
    expect(parseRerankingJsonl(text, "r.jsonl")).toEqual(queries)
  })
})
