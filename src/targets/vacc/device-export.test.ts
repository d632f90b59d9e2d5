// The device export preset: static [1, L] int32 inputs including token_type_ids (also for XLM-R),
// and on right-padded `padding="max_length"` rows the same last_hidden_state / logits as the float64
// Hugging Face reference — XLM-R's real tokens at padding_idx + 1 + i, not the vendor's shifted patch.
import { afterAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { exportEncoder } from "../../export/index.ts"
import { floats, maxAbsDiff, openCheckpoint, paddedBatch, reference, runOnnx, scratch, tinyCheckpoint } from "../../export/test-support.ts"
import { deviceExportSettings } from "./device-export.ts"

const { dir, cleanup } = scratch("device-export")
afterAll(cleanup)
const L = 12

describe.each(["xlm-roberta", "bert"])("%s", (arch) => {
  test("embedding: [1, L] int32 inputs with token_type_ids; each padded row's last_hidden_state matches the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "embedding")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-emb`), ...deviceExportSettings("embedding", L) })
    expect(result.manifest.inputs).toEqual(["input_ids", "attention_mask", "token_type_ids"].map((name) => ({ name, dtype: "int32", shape: [1, L] })))
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, L)
    const expected = reference(checkpoint, batch, "embedding")
    checkpoint.close()
    const hidden = expected.lastHiddenState.data.length / (3 * L)
    for (let row = 0; row < 3; row++) {
      const single = { inputIds: [batch.inputIds[row]!], attentionMask: [batch.attentionMask[row]!], tokenTypeIds: [batch.tokenTypeIds[row]!] }
      const out = await runOnnx(result.modelPath, single, "int32")
      const want = expected.lastHiddenState.data.subarray(row * L * hidden, (row + 1) * L * hidden)
      expect(maxAbsDiff(floats(out.last_hidden_state), want)).toBeLessThanOrEqual(1e-4)
    }
  }, 30_000)

  test("reranker: logits of each padded row match the reference", async () => {
    const ckpt = await tinyCheckpoint(dir, arch, "reranker")
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `${arch}-rr`), ...deviceExportSettings("reranker", L) })
    const checkpoint = openCheckpoint(ckpt)
    const batch = paddedBatch(checkpoint, L)
    const expected = reference(checkpoint, batch, "reranker")
    checkpoint.close()
    for (let row = 0; row < 3; row++) {
      const single = { inputIds: [batch.inputIds[row]!], attentionMask: [batch.attentionMask[row]!], tokenTypeIds: [batch.tokenTypeIds[row]!] }
      const out = await runOnnx(result.modelPath, single, "int32")
      expect(maxAbsDiff(floats(out.logits), [expected.logits!.data[row]!])).toBeLessThanOrEqual(1e-4)
    }
  }, 30_000)
})
