// Works out a tokenizer folder's maximum sequence length: an explicit value, else
// tokenizer_config.json `model_max_length`, else config.json's position table.

import { existsSync } from "node:fs"
import { basename, join } from "node:path"
import { z } from "zod"
import { families } from "../families/index.ts"
import { readJsonFile } from "../schema/index.ts"
import { TokenizerError } from "./errors.ts"

/**
 * Hugging Face writes 1e30 (VERY_LARGE_INTEGER) when a tokenizer has no known limit; anything
 * above this is treated as "not set" rather than as a usable length.
 */
export const largestPlausibleMaxLength = 1_000_000

const TokenizerConfig = z.looseObject({ model_max_length: z.number().optional() })
const ModelConfig = z.looseObject({ model_type: z.string().optional(), max_position_embeddings: z.number().int().positive().optional() })

const readJson = async <T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> => {
  if (!existsSync(path)) return undefined
  return readJsonFile(path, schema, basename(path), (error) => new TokenizerError("invalid-file", error.message, { path, cause: error }))
}

export interface ResolvedMaxLength {
  readonly maxLength: number
  /** Where the value came from, for reports. */
  readonly source: "option" | "tokenizer_config.json" | "config.json"
}

export const resolveMaxLength = async (dir: string, explicit: number | undefined): Promise<ResolvedMaxLength> => {
  if (explicit !== undefined) return { maxLength: explicit, source: "option" }
  const tokenizerConfig = await readJson(join(dir, "tokenizer_config.json"), TokenizerConfig)
  const declared = tokenizerConfig?.model_max_length
  if (declared !== undefined && Number.isInteger(declared) && declared > 0 && declared <= largestPlausibleMaxLength) {
    return { maxLength: declared, source: "tokenizer_config.json" }
  }
  const modelConfig = await readJson(join(dir, "config.json"), ModelConfig)
  const positions = modelConfig?.max_position_embeddings
  if (modelConfig !== undefined && positions !== undefined) {
    // The family knows how many rows of the position table text can use (XLM-R spends two before the first token).
    const family = families.find((f) => modelConfig.model_type !== undefined && f.modelTypes.includes(modelConfig.model_type))
    const usable = family === undefined ? positions : family.inputLimit(modelConfig)
    if (usable !== undefined && usable > 0) return { maxLength: usable, source: "config.json" }
  }
  const seen = declared === undefined ? "no model_max_length" : `model_max_length ${declared}, which is not a usable length`
  throw new TokenizerError("invalid-option", `${dir}: tokenizer_config.json has ${seen} and config.json has no max_position_embeddings; pass maxLength explicitly`, { path: dir })
}
