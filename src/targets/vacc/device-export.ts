// The export preset for VastAI cards (vendor-toolchain.md §4, VastModelZOO common/source_code/onnx_export.py):
// static [1, L] int32 input_ids / attention_mask / token_type_ids (token type ids even for XLM-R,
// whose compiled BERT model takes them), plain ONNX attention (vamc does not know
// com.microsoft:Attention), no pooler: the embedding task's last_hidden_state (CLS is row 0 of it)
// or the reranker's logits — compile keeps only that output.
//
// Where kiln differs from the vendor:
// - Position ids. The vendor's export patches XLM-R to position_ids = arange(L) and slices the
//   position table from padding_idx, so token i reads row padding_idx + i. Hugging Face reads row
//   padding_idx + 1 + i for the i-th real token (create_position_ids_from_input_ids: padding_idx +
//   cumsum(mask)), and padding_idx for padding. kiln's graph computes Hugging Face's ids from
//   input_ids (src/families/xlm-roberta/position-ids.ts), so on right-padded `padding="max_length"` rows it equals
//   the reference forward (device-export.test.ts proves it against the float64 reference); the
//   vendor's patch shifts every real token by one row.
// - Opset. The vendor exports at opset 11; kiln's exporter emits LayerNormalization, which needs
//   opset 17, its minimum. Whether vamc's ONNX frontend takes opset 17 is not documented; the
//   stand-in vamc accepts it.
import type { z } from "zod"
import type { ExportSettings } from "../../export/index.ts"

export const deviceExportSettings = (task: "embedding" | "reranker", seqlen?: number): z.input<typeof ExportSettings> => ({
  task,
  ...(seqlen !== undefined ? { seqlen } : {}),
  batch: 1,
  int32Inputs: true,
  tokenTypeIds: "always",
  attention: "onnx",
})

/** The same, as exportOnnx step params. */
export const deviceExportParams = (task: "embedding" | "reranker", seqlen?: number) =>
  ({ task, ...(seqlen !== undefined ? { seqlen } : {}), batch: 1, int32: true, tokenTypeIds: "always", attention: "onnx" }) as const
