// Development check: the loaders read the real files in /work/shared/data (skipped where that
// folder is absent, e.g. on CI). Counts are the documented sizes of those files.

import { describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { loadChineseStsB, loadRerankingJsonl, loadStsBenchmark } from "./index.ts"

const shared = process.env.KILN_SHARED_DATA ?? "/work/shared/data"
const available = existsSync(join(shared, "sts"))

describe.skipIf(!available)("shared data (dev check)", () => {
  test("STS Benchmark test and dev", async () => {
    const testSet = await loadStsBenchmark(join(shared, "sts/stsbenchmark/sts-test.csv"))
    const devSet = await loadStsBenchmark(join(shared, "sts/stsbenchmark/sts-dev.csv"))
    expect(testSet).toHaveLength(1379)
    expect(devSet).toHaveLength(1500)
    expect(testSet.every((p) => p.sentence1.length > 0 && p.sentence2.length > 0)).toBe(true)
  })

  test("Chinese STS-B test", async () => {
    const pairs = await loadChineseStsB(join(shared, "sts/sts-b-zh.test.data"))
    expect(pairs).toHaveLength(1361)
    expect(new Set(pairs.map((p) => p.score))).toEqual(new Set([0, 1, 2, 3, 4, 5]))
  })

  test("FlagEmbedding reranking examples", async () => {
    for (const name of ["examples.jsonl", "msmarco.jsonl"]) {
      const queries = await loadRerankingJsonl(join(shared, "reranking/flagembedding_examples", name))
      expect(queries).toHaveLength(10)
      expect(queries.every((q) => q.positives.length === 1 && q.negatives.length === 25)).toBe(true)
    }
  })
})
