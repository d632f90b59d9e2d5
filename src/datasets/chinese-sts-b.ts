// The Chinese STS-B files (e.g. STS-B.test.data as distributed with CoSENT): sentence_a TAB
// sentence_b TAB score, an integer 0–5, no header.

import type { LoadOptions } from "./read-text.ts"
import type { StsPair } from "./sts.ts"
import { field, readTabSeparated, scoreField, tabSeparatedLines, type TabSeparatedLine, type TabSeparatedLayout } from "./tab-separated.ts"

const layout: TabSeparatedLayout = { columns: ["sentence1", "sentence2", "score"] }

const toPair = (file: string) => (row: TabSeparatedLine): StsPair => ({
  sentence1: field(row, layout, "sentence1"),
  sentence2: field(row, layout, "sentence2"),
  score: scoreField(file, row, layout, "score", 0, 5),
})

export const parseChineseStsB = (text: string, file: string, options?: LoadOptions): StsPair[] =>
  tabSeparatedLines(text, file, layout, options).map(toPair(file))

export const loadChineseStsB = async (file: string, options?: LoadOptions): Promise<StsPair[]> =>
  (await readTabSeparated(file, layout, options)).map(toPair(file))
