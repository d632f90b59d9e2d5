// ORT feeds for a token batch, by the input roles and dtypes runtime.json declares (int64 inputs
// take BigInt64Array — ORT rejects int32 data for them).
import { toBigInt64, type TokenBatch } from "../tokenize/index.ts"
import type { FeedTensor, RunRequest } from "./model-session.ts"
import type { InputRole, RuntimeConfig } from "./runtime-config.ts"

const roleValues = (batch: TokenBatch, role: InputRole): Int32Array =>
  role === "input_ids" ? batch.inputIds : role === "attention_mask" ? batch.attentionMask : batch.tokenTypeIds

export const toRunRequest = (batch: TokenBatch, inputs: RuntimeConfig["io"]["inputs"], fetches: readonly string[]): RunRequest => {
  const feeds: Record<string, FeedTensor> = {}
  for (const input of inputs) {
    const values = roleValues(batch, input.role)
    feeds[input.name] = { dtype: input.dtype, dims: [...batch.dims], data: input.dtype === "int64" ? toBigInt64(values) : values }
  }
  return { feeds, fetches }
}
