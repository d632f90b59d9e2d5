// Dataset loaders for local evaluation files: STS pairs and reranking queries, each line
// validated, every failure a DatasetError naming file:line.

export { DatasetError, type DatasetErrorReason } from "./errors.ts"
export { type LoadOptions, MAX_RECORD_BYTES } from "./read-text.ts"
export { loadStsJsonl, parseStsJsonl, type StsPair } from "./sts.ts"
export { loadRerankingJsonl, parseRerankingJsonl, type RerankQuery, type RerankingLoadOptions } from "./reranking.ts"
export { loadStsBenchmark, parseStsBenchmark, type StsBenchmarkPair } from "./sts-benchmark.ts"
export { loadChineseStsB, parseChineseStsB } from "./chinese-sts-b.ts"
export { syntheticRerankQueries, syntheticStsPairs } from "./synthetic.ts"
export { originOf, type SplitOrigin, writeSplitAsJsonLines } from "./hub-split.ts"
