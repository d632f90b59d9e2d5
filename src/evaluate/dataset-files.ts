// Resolves a dataset artifact (a JSON-lines file, an STS-B .csv/.tsv file, or a folder holding
// data.jsonl) and loads it with the matching loader.
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import { loadRerankingJsonl, loadStsBenchmark, loadStsJsonl, type RerankQuery, type StsPair } from "../datasets/index.ts"

const dataFile = (path: string): string => (existsSync(path) && statSync(path).isDirectory() ? join(path, "data.jsonl") : path)

export const loadStsDataset = async (path: string, limit?: number): Promise<StsPair[]> => {
  const file = dataFile(path)
  const options = limit !== undefined ? { limit } : {}
  return /\.(csv|tsv)$/i.test(file) ? loadStsBenchmark(file, options) : loadStsJsonl(file, options)
}

export const loadRerankDataset = (path: string, limit?: number): Promise<RerankQuery[]> =>
  loadRerankingJsonl(dataFile(path), limit !== undefined ? { limit } : {})

/** Distinct texts of STS pairs in first-seen order, for embedding each once. */
export const distinctTexts = (pairs: readonly StsPair[]): string[] => [...new Set(pairs.flatMap((p) => [p.sentence1, p.sentence2]))]
