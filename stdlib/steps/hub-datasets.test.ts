// Dataset splits from a Hub-shaped server: parquet read with hyparquet, gzipped JSON lines, the
// first N rows only, and a row with the wrong columns named by its file and row.
import { afterEach, describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { parquetWriteBuffer } from "hyparquet-writer"
import { pipeline } from "../../src/engine/index.ts"
import { hubSettingsFromEnv } from "../../src/hub/index.ts"
import { type FakeFile, type FakeHub, startFakeHub } from "../../src/hub/testing/fake-hub.ts"
import { syntheticRerankQueries, syntheticStsPairs } from "../../src/datasets/index.ts"
import { cleanup, runCaptured, tempDir } from "../../tests/support.ts"
import { hubRerankDataset, hubStsDataset } from "./hub-datasets.ts"

const SHA = "c".repeat(40)
const dirs: string[] = []
const hubs: FakeHub[] = []
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.close()
  cleanup(...dirs.splice(0))
})

const parquet = (columns: Record<string, unknown[]>): FakeFile => ({
  bytes: new Uint8Array(parquetWriteBuffer({ columnData: Object.entries(columns).map(([name, data]) => ({ name, data })) })),
  lfs: true,
})

const serve = async (id: string, files: Record<string, FakeFile>) => {
  const hub = await startFakeHub([{ type: "dataset", id, commits: { [SHA]: files }, refs: { main: SHA } }])
  hubs.push(hub)
  const dir = tempDir()
  dirs.push(dir)
  const settings = () => hubSettingsFromEnv({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(dir, "hf") }, { timeoutMs: 2_000 })
  return { hub, dir, settings }
}

const output = (r: Awaited<ReturnType<typeof runCaptured>>, id: string) => readFileSync(join(r.json.steps.find((s) => s.id === id)!.outputs.out!.path, "data.jsonl"), "utf8")

describe("Hub dataset splits", () => {
  test("an STS test split in parquet becomes the sts-dataset the evaluators read, with the commit in the source's key", async () => {
    const pairs = syntheticStsPairs(30, 4)
    const { hub, dir, settings } = await serve("mteb/sts12-sts", {
      "data/test-00000-of-00001.parquet": parquet({ sentence1: pairs.map((p) => p.sentence1), sentence2: pairs.map((p) => p.sentence2), score: pairs.map((p) => p.score) }),
      "data/train-00000-of-00001.parquet": parquet({ sentence1: ["x"], sentence2: ["y"], score: [1] }),
    })
    const r = await runCaptured(pipeline("sts", hubStsDataset({ repo: "mteb/sts12-sts", split: "test" }, { settings })), dir)
    expect(r.code).toBe(0)
    const rows = output(r, "sts12-sts-test").trim().split("\n").map((l) => JSON.parse(l))
    expect(rows).toEqual(pairs.map((p) => ({ sentence1: p.sentence1, sentence2: p.sentence2, score: p.score })))
    expect(hub.requests.some((q) => q.url.includes("train"))).toBe(false)
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock.json"), "utf8"))
    expect(lock.nodes["hf:mteb/sts12-sts"].fingerprint).toEqual({ repo: "datasets/mteb/sts12-sts", revision: "main", commit: SHA })
  })

  test("gzipped JSON lines of MS MARCO keep only the first queries asked for", async () => {
    const queries = syntheticRerankQueries(8, 3)
    const lines = queries.map((q) => JSON.stringify({ query_id: "1", query: q.query, positive_passages: q.positives.map((text) => ({ docid: "d", title: "", text })), negative_passages: q.negatives.map((text) => ({ docid: "d", title: "", text })) }))
    const { dir, settings } = await serve("zyznull/msmarco-passage-ranking", { "dev.jsonl.gz": { bytes: new Uint8Array(gzipSync(lines.join("\n") + "\n")), lfs: true } })
    const r = await runCaptured(pipeline("rerank", hubRerankDataset({ repo: "zyznull/msmarco-passage-ranking", split: "dev", limit: 5 }, { settings })), dir)
    expect(r.code).toBe(0)
    const rows = output(r, "msmarco-passage-ranking-dev").trim().split("\n")
    expect(rows.length).toBe(5)
    expect(JSON.parse(rows[4]!).query).toBe(queries[4]!.query)
  }, 30_000)

  test("a parquet split with the wrong columns names the file and the row", async () => {
    const { dir, settings } = await serve("C-MTEB/BQ", {
      "data/test-00000-of-00001.parquet": parquet({ sentence1: ["a", "b"], text2: ["c", "d"], score: [0, 1] }),
    })
    const r = await runCaptured(pipeline("bq", hubStsDataset({ repo: "C-MTEB/BQ", split: "test" }, { settings })), dir)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("data/test-00000-of-00001.parquet:1")
    expect(r.stderr).toContain("sentence2")
  }, 30_000)

  test("a repo without the split says which files it has", async () => {
    const { dir, settings } = await serve("C-MTEB/BQ", { "README.md": { bytes: new TextEncoder().encode("# BQ") } })
    const r = await runCaptured(pipeline("bq", hubStsDataset({ repo: "C-MTEB/BQ", split: "test" }, { settings })), dir)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("no test split")
  })
})
