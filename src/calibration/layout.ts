// Where things live in a calibration-set folder, and its manifest (calibration.json). The folder
// serves three consumers: vamc (root <i>.npz, float32), vamp (vamp/<i>.npz, int32, plus a datalist)
// and kiln's own quantizer (which reads the root files back through readCalibrationSet).

import { z } from "zod"

export const CALIBRATION_MANIFEST = "calibration.json"
export const VAMP_DIR = "vamp"
/** Paths inside it are relative to the calibration folder; see absoluteDatalist for why. */
export const VAMP_DATALIST = "vamp/datalist.txt"

/** Keys of vamc's calibration samples, float32 [1, seqlen]. */
export const VAMC_KEYS = ["input_ids", "attention_mask", "token_type_ids"] as const
/**
 * Keys of vamp's inputs, int32 [1, seqlen]: ids, mask, type ids, then the mask three more times —
 * the names the vendor's BGE scripts write (VastModelZOO nlp/text2vec/common/source_code/gen_vamp_data.py;
 * DESIGN.md once said input_0 … input_5, which is CLIP's naming). vamp reads them by position.
 */
export const VAMP_KEYS = ["input_ids", "attention_mask", "token_type_ids", "attention_mask1", "attention_mask2", "attention_mask3"] as const

export const vamcSampleFile = (index: number): string => `${index}.npz`
export const vampSampleFile = (index: number): string => `${VAMP_DIR}/${index}.npz`

export const CalibrationManifest = z
  .object({
    kind: z.literal("calibration-set"),
    version: z.literal(1),
    samples: z.number().int().positive(),
    seqlen: z.number().int().positive(),
    padId: z.number().int().nonnegative(),
    /** Real (unpadded) tokens per sample, specials included. */
    lengths: z.array(z.number().int().nonnegative()),
    vamc: z.object({ files: z.array(z.string().min(1)), keys: z.array(z.string()), dtype: z.literal("float32") }),
    vamp: z.object({ files: z.array(z.string().min(1)), keys: z.array(z.string()), dtype: z.literal("int32"), datalist: z.string().min(1) }),
  })
  .strict()
  .refine((m) => m.lengths.length === m.samples && m.vamc.files.length === m.samples && m.vamp.files.length === m.samples, {
    message: "lengths, vamc.files and vamp.files must each list one entry per sample",
    path: ["samples"],
  })

export type CalibrationManifest = z.infer<typeof CalibrationManifest>
