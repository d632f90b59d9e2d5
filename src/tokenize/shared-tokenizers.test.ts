// Development check against the real BGE/XLM-R tokenizers in /work/shared/data (skipped where
// that folder is absent). Known ids, and agreement with the library's own untruncated encoding
// under Hugging Face (Python) truncation semantics on real sentences.

import { AutoTokenizer } from "@huggingface/transformers"
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadChineseStsB, loadRerankingJsonl, loadStsBenchmark } from "../datasets/index.ts"
import { copyTokenizer } from "../synth/index.ts"
import { batchRow, bgeEnglishQueryInstruction, loadTokenizer } from "./index.ts"

const shared = process.env.KILN_SHARED_DATA ?? "/work/shared/data"
const available = existsSync(join(shared, "tokenizers"))

describe.skipIf(!available)("real tokenizers (dev check)", () => {
  const tmp = mkdtemp(join(tmpdir(), "kiln-real-tokenizers-"))
  afterAll(async () => rm(await tmp, { recursive: true, force: true }))

  test("bge-base-en-v1.5: known BERT ids, 512 from tokenizer_config.json", async () => {
    const tokenizer = await loadTokenizer(join(shared, "tokenizers/bge-base-en-v1.5"))
    expect(tokenizer.maxLength).toBe(512)
    expect(Array.from(tokenizer.encode(["hello world"]).inputIds)).toEqual([101, 7592, 2088, 102])
    expect(tokenizer.encode(["hello world"], { instruction: bgeEnglishQueryInstruction }).lengths[0]).toBeGreaterThan(4)
  })

  /**
   * Our ids must equal the library's full encoding, truncated as Hugging Face's Python tokenizers
   * do (content cut, closing special kept). transformers.js's own `truncation: true` instead cuts
   * after adding specials and so drops the final [SEP] / </s>, which is why we truncate ourselves.
   */
  const agreesWithLibrary = async (dir: string, texts: readonly string[], maxLength: number): Promise<number> => {
    const tokenizer = await loadTokenizer(dir)
    const reference = await AutoTokenizer.from_pretrained(dir, { local_files_only: true })
    const batch = tokenizer.encode(texts, { maxLength })
    let truncated = 0
    texts.forEach((text, i) => {
      const full = reference.encode(text)
      if (full.length > maxLength) truncated++
      const expected = full.length > maxLength ? [...full.slice(0, maxLength - 1), full[full.length - 1] as number] : full
      expect(batchRow(batch, batch.inputIds, i).slice(0, batch.lengths[i])).toEqual(expected)
    })
    return truncated
  }

  test("English and Chinese STS-B sentences match, with and without truncation", async () => {
    const en = (await loadStsBenchmark(join(shared, "sts/stsbenchmark/sts-test.csv"), { limit: 300 })).flatMap((p) => [p.sentence1, p.sentence2])
    const zh = (await loadChineseStsB(join(shared, "sts/sts-b-zh.test.data"), { limit: 300 })).flatMap((p) => [p.sentence1, p.sentence2])
    expect(await agreesWithLibrary(join(shared, "tokenizers/bge-base-en-v1.5"), en, 512)).toBe(0)
    expect(await agreesWithLibrary(join(shared, "tokenizers/bge-base-en-v1.5"), en, 12)).toBeGreaterThan(50)
    expect(await agreesWithLibrary(join(shared, "tokenizers/bge-small-zh-v1.5"), zh, 12)).toBeGreaterThan(50)
  }, 30_000)

  test("XLM-R (bge-m3 vocabulary): singles and untruncated pairs match the library", async () => {
    const dir = join(await tmp, "xlmr")
    await copyTokenizer(join(shared, "tokenizers/xlmr_multilingual-e5-small"), dir)
    const en = (await loadStsBenchmark(join(shared, "sts/stsbenchmark/sts-test.csv"), { limit: 100 })).map((p) => p.sentence1)
    expect(await agreesWithLibrary(dir, en, 10)).toBeGreaterThan(20)
    const tokenizer = await loadTokenizer(dir)
    const reference = await AutoTokenizer.from_pretrained(dir, { local_files_only: true })
    const queries = await loadRerankingJsonl(join(shared, "reranking/flagembedding_examples/msmarco.jsonl"), { limit: 3 })
    const pairs = queries.flatMap((q) => [q.positives[0]!, ...q.negatives.slice(0, 3)].map((p) => [q.query, p] as [string, string]))
    const batch = tokenizer.encodePairs(pairs, { maxLength: 512 })
    pairs.forEach(([q, p], i) => {
      expect(batchRow(batch, batch.inputIds, i).slice(0, batch.lengths[i])).toEqual(reference.encode(q, { text_pair: p }))
    })
  }, 60_000) // parses the 17 MB XLM-R tokenizer.json twice
})
