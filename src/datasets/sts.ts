// STS pairs from JSON lines `{"sentence1", "sentence2", "score"}`, the layout of mteb/sts12-sts
// and C-MTEB/BQ (whose scores are 0/1); extra fields on a line are ignored.

import { z } from "zod"
import { describeIssues } from "../schema/index.ts"
import { loadJsonLines, parseJsonLines, type LineDecoder } from "./json-lines.ts"
import type { LoadOptions } from "./read-text.ts"

/** Two sentences and their gold similarity, on the dataset's own scale. */
export interface StsPair {
  readonly sentence1: string
  readonly sentence2: string
  readonly score: number
}

const StsLine = z.object({ sentence1: z.string(), sentence2: z.string(), score: z.number() })

const decodeStsLine: LineDecoder<StsPair> = (value) => {
  const parsed = StsLine.safeParse(value)
  if (!parsed.success) return { ok: false, detail: describeIssues(parsed.error, value, { schema: StsLine, rootName: "the line" }) }
  const { sentence1, sentence2, score } = parsed.data
  return { ok: true, value: { sentence1, sentence2, score } }
}

export const parseStsJsonl = (text: string, file: string, options?: LoadOptions): StsPair[] =>
  parseJsonLines(text, file, decodeStsLine, options)

export const loadStsJsonl = (file: string, options?: LoadOptions): Promise<StsPair[]> =>
  loadJsonLines(file, decodeStsLine, options)
