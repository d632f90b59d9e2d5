// The evaluation and calibration sets presets refer to, by name: Hub dataset splits (repo, split,
// rows kept) and the kind of records each holds. One record each, in one place.
import type { HubSplit } from "../steps/hub-datasets.ts"

export interface DatasetPreset extends HubSplit {
  readonly kind: "sts" | "rerank"
  /** How reports name it. */
  readonly title: string
}

export const datasetPresets = {
  sts12: { kind: "sts", title: "STS12 test", repo: "mteb/sts12-sts", split: "test" },
  "sts-b": { kind: "sts", title: "STS-B test", repo: "mteb/stsbenchmark-sts", split: "test" },
  bq: { kind: "sts", title: "C-MTEB BQ test", repo: "C-MTEB/BQ", split: "test" },
  "sts-b-zh": { kind: "sts", title: "C-MTEB STSB test", repo: "C-MTEB/STSB", split: "test" },
  // The seed's reranker figures use the first 100 dev queries.
  "msmarco-dev-100": { kind: "rerank", title: "MS MARCO passage dev, first 100 queries", repo: "zyznull/msmarco-passage-ranking", split: "dev", limit: 100 },
} as const satisfies Record<string, DatasetPreset>

export type DatasetPresetName = keyof typeof datasetPresets
