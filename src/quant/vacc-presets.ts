// Mixed-precision presets for vamc, for the two models the vendor published int8 numbers for.
//
// THESE ARE OUR RECONSTRUCTION, NOT THE VENDOR'S LISTS. The vendor's exact exclude_layers for
// bge-m3 (percentile) and bge-reranker-v2-m3 (max) are not available offline. The lists below say
// "keep these layer groups in float" in kiln's naming — Hugging Face weight names as kiln's exporter
// keeps them (encoder.layer.N.output.dense …) — chosen from where int8 loses accuracy in
// BERT/XLM-R encoders: the FFN down-projections, whose GELU inputs carry heavy-tailed outliers, at
// the ends of the stack, and the task heads. vamc may name layers differently; map or replace these
// names once a real vamc model's layer names are known.

import type { VaccQuantizeOptions } from "./vacc-config.ts"

export interface VaccPreset {
  readonly model: string
  readonly calibrateMode: "max" | "percentile"
  readonly perChannel: boolean
  /** Layer groups kept in float, in kiln's weight naming. */
  readonly excludeLayers: readonly string[]
  /** Why this list: stated plainly as a reconstruction. */
  readonly provenance: string
}

const ffnDown = (layer: number) => `encoder.layer.${layer}.output.dense`
const wholeLayer = (layer: number) => `encoder.layer.${layer}`

/** bge-m3 (XLM-R large, 24 layers): percentile calibration; the vendor's int8 held STS12 (0.78735 → 0.78722). */
export const bgeM3VaccPreset = (numLayers = 24): VaccPreset => ({
  model: "BAAI/bge-m3",
  calibrateMode: "percentile",
  perChannel: true,
  excludeLayers: [ffnDown(0), ffnDown(1), ffnDown(numLayers - 2), ffnDown(numLayers - 1), "sparse_linear", "colbert_linear"],
  provenance: "kiln reconstruction (not the vendor's verbatim list): FFN down-projections of the first and last two layers, and the sparse/colbert heads",
})

/**
 * bge-reranker-v2-m3 (XLM-R large + classifier): max calibration, which outliers hurt more; the
 * vendor's int8 lost 8.6 MAP points, so this keeps more in float than bge-m3.
 */
export const bgeRerankerV2M3VaccPreset = (numLayers = 24): VaccPreset => ({
  model: "BAAI/bge-reranker-v2-m3",
  calibrateMode: "max",
  perChannel: true,
  excludeLayers: [
    ...Array.from({ length: numLayers - 2 }, (_, i) => ffnDown(i)),
    wholeLayer(numLayers - 2),
    wholeLayer(numLayers - 1),
    "classifier.dense",
    "classifier.out_proj",
  ],
  provenance: "kiln reconstruction (not the vendor's verbatim list): every FFN down-projection, the last two layers whole, and the classifier head",
})

/** The preset as vaccQuantizeConfig options, given where the calibration set is and how many samples to use. */
export const presetOptions = (preset: VaccPreset, calibrationDir: string, samples: number): VaccQuantizeOptions => ({
  calibrateMode: preset.calibrateMode,
  perChannel: preset.perChannel,
  excludeLayers: [...preset.excludeLayers],
  calibrationDir,
  samples,
})
