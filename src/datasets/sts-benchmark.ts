// The English STS Benchmark files (sts-train.csv, sts-dev.csv, sts-test.csv): despite the .csv name
// they are tab-separated — genre, file, year, id, score (0–5), sentence1, sentence2 — optionally
// followed by licence/source fields, with no header and no quoting.

import type { LoadOptions } from "./read-text.ts"
import type { StsPair } from "./sts.ts"
import { field, readTabSeparated, scoreField, tabSeparatedLines, type TabSeparatedLine, type TabSeparatedLayout } from "./tab-separated.ts"

/** An STS Benchmark pair with its provenance, for per-genre breakdowns. */
export interface StsBenchmarkPair extends StsPair {
  /** e.g. "main-captions", "main-news", "main-forums". */
  readonly genre: string
  /** Original dataset, e.g. "MSRvid", "headlines". */
  readonly source: string
  readonly year: string
  readonly id: string
}

const layout: TabSeparatedLayout = { columns: ["genre", "file", "year", "id", "score", "sentence1", "sentence2"] }

const toPair = (file: string) => (row: TabSeparatedLine): StsBenchmarkPair => ({
  sentence1: field(row, layout, "sentence1"),
  sentence2: field(row, layout, "sentence2"),
  score: scoreField(file, row, layout, "score", 0, 5),
  genre: field(row, layout, "genre"),
  source: field(row, layout, "file"),
  year: field(row, layout, "year"),
  id: field(row, layout, "id"),
})

export const parseStsBenchmark = (text: string, file: string, options?: LoadOptions): StsBenchmarkPair[] =>
  tabSeparatedLines(text, file, layout, options).map(toPair(file))

export const loadStsBenchmark = async (file: string, options?: LoadOptions): Promise<StsBenchmarkPair[]> =>
  (await readTabSeparated(file, layout, options)).map(toPair(file))
