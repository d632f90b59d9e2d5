// Checks the tokenizer an export will copy, before anything is written: it must load in
// transformers.js (offline), its model and pipeline types must be ones transformers.js knows, no
// id it can emit may be past the model's vocabulary (config.json vocab_size, the embedding table's
// rows — else ONNX Runtime fails later with an index error), and the special tokens the task
// needs must exist. Generic on purpose: it compares tokenizer ids with vocab_size and reads the
// special tokens tokenizer_config.json declares; no model family is named here.
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers"
import { existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { ExportError } from "../graph/index.ts"
import type { ExportSettings } from "./options.ts"

/** Tokenizer model types of Hugging Face tokenizers that transformers.js implements. */
const KNOWN_MODEL_TYPES = ["BPE", "Unigram", "WordLevel", "WordPiece"]

/** transformers.js's "Unknown X type: Y" load errors, by the tokenizer.json field holding X. */
const UNKNOWN_TYPE = /Unknown (Normalizer|PreTokenizer|PostProcessor|Decoder|TokenizerModel) type: (.*)$/
const fieldOfComponent: Readonly<Record<string, string>> = {
  Normalizer: "normalizer",
  PreTokenizer: "pre_tokenizer",
  PostProcessor: "post_processor",
  Decoder: "decoder",
  TokenizerModel: "model",
}

const SPECIAL_FIELDS = ["cls_token", "sep_token", "pad_token", "unk_token", "mask_token", "bos_token", "eos_token"] as const
type SpecialField = (typeof SPECIAL_FIELDS)[number]

const invalid = (file: string, message: string): ExportError => new ExportError("InvalidTokenizer", `${file}: ${message}`, { file })

/** The special tokens a task reads by position: CLS pooling reads the first token, a pair needs a separator. */
const neededSpecials = (settings: ExportSettings): readonly { field: SpecialField; why: string }[] => [
  ...(settings.task === "m3" || (settings.task === "embedding" && settings.pooling === "cls")
    ? [{ field: "cls_token" as const, why: `${settings.task === "m3" ? 'task "m3"' : 'pooling "cls"'} needs a cls_token (the embedding is read at its position)` }]
    : []),
  ...(settings.task === "reranker" ? [{ field: "sep_token" as const, why: 'task "reranker" needs a sep_token (the separator between query and passage)' }] : []),
]

const readTokenizerJson = (path: string): Record<string, unknown> => {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, "utf8"))
  } catch (cause) {
    throw invalid(path, `not valid JSON (${(cause as Error).message}); expected a Hugging Face tokenizer.json`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalid(path, "expected a JSON object (a Hugging Face tokenizer.json)")
  const model = (json as Record<string, unknown>).model
  if (typeof model !== "object" || model === null || Array.isArray(model)) throw invalid(path, 'field "model" must be an object (the tokenizer model with its vocab)')
  const type = (model as Record<string, unknown>).type
  if (type !== undefined && !KNOWN_MODEL_TYPES.includes(type as string)) {
    // transformers.js would guess a model from the vocab's shape and tokenize differently from Python.
    throw invalid(path, `field "model.type" is ${JSON.stringify(type)}; transformers.js knows ${KNOWN_MODEL_TYPES.map((t) => `"${t}"`).join(", ")}`)
  }
  return json as Record<string, unknown>
}

const load = async (dir: string, tokenizerJson: string): Promise<PreTrainedTokenizer> => {
  try {
    // An absolute path with local_files_only never reaches the network (see src/tokenize/text-tokenizer.ts).
    return await AutoTokenizer.from_pretrained(resolve(dir), { local_files_only: true })
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    const unknown = UNKNOWN_TYPE.exec(message)
    if (unknown !== null) {
      throw invalid(tokenizerJson, `field "${fieldOfComponent[unknown[1]!]}" has type ${JSON.stringify(unknown[2])}, which transformers.js does not know (steps of a Sequence included)`)
    }
    throw new ExportError("InvalidTokenizer", `${dir}: transformers.js cannot load the tokenizer: ${message}`, { file: dir }, { cause })
  }
}

/** The special tokens a tokenizer_config.json / special_tokens_map.json declares (a string, or an AddedToken's content). */
const declaredSpecials = (file: string): Map<SpecialField, string> => {
  const found = new Map<SpecialField, string>()
  if (!existsSync(file)) return found
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, "utf8"))
  } catch (cause) {
    throw invalid(file, `not valid JSON (${(cause as Error).message})`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw invalid(file, "expected a JSON object")
  for (const field of SPECIAL_FIELDS) {
    const value = (json as Record<string, unknown>)[field]
    const token = typeof value === "object" && value !== null ? (value as { content?: unknown }).content : value
    if (typeof token === "string") found.set(field, token)
  }
  return found
}

/** The largest id the tokenizer can emit (vocabulary, added and special tokens, template ids) and its token. */
const largestId = (tokenizer: PreTrainedTokenizer, vocabulary: ReadonlyMap<string, number>): { id: number; token: string } => {
  let largest = { id: -1, token: "" }
  for (const [token, id] of vocabulary) if (id > largest.id) largest = { id, token }
  // Post-processor templates may carry ids of their own.
  const probes = [tokenizer.encode("a"), tokenizer.encode("a", { text_pair: "b" })]
  for (const id of [...tokenizer.all_special_ids, ...probes.flat()]) if (id > largest.id) largest = { id, token: tokenizer.decode([id]) }
  return largest
}

/**
 * Validates the tokenizer in `dir` for a model with `vocabSize` rows and the export `settings`.
 * Throws ExportError("InvalidTokenizer") naming the file and field; returns warnings (no tokenizer).
 */
export const checkTokenizer = async (dir: string, vocabSize: number, settings: ExportSettings): Promise<readonly string[]> => {
  const tokenizerJson = join(dir, "tokenizer.json")
  if (!existsSync(tokenizerJson)) {
    return [`${dir} has no tokenizer.json: the exported folder will not load in transformers.js (copy the model's tokenizer files beside config.json)`]
  }
  readTokenizerJson(tokenizerJson)
  const configFile = join(dir, "tokenizer_config.json")
  if (!existsSync(configFile)) {
    throw new ExportError("InvalidTokenizer", `${dir}: tokenizer_config.json is missing: transformers.js needs it beside tokenizer.json to pick the tokenizer class`, { file: configFile })
  }
  const tokenizer = await load(dir, tokenizerJson)
  const vocabulary = tokenizer.get_vocab() as Map<string, number>
  // Declared in tokenizer_config.json or special_tokens_map.json (transformers.js does not expose every one, e.g. cls_token).
  const declared = new Map<SpecialField, string>()
  for (const file of [configFile, join(dir, "special_tokens_map.json")]) {
    for (const [field, token] of declaredSpecials(file)) {
      if (!vocabulary.has(token)) throw invalid(file, `field "${field}" is ${JSON.stringify(token)}, which is not in the tokenizer's vocabulary (tokenizer.json)`)
      if (!declared.has(field)) declared.set(field, token)
    }
  }
  for (const { field, why } of neededSpecials(settings)) {
    if (!declared.has(field)) throw invalid(configFile, `${why}; found none in it or in special_tokens_map.json`)
  }
  const largest = largestId(tokenizer, vocabulary)
  if (largest.id >= vocabSize) {
    throw invalid(
      tokenizerJson,
      `token id ${largest.id} (${JSON.stringify(largest.token)}) is past the model's vocabulary: config.json vocab_size is ${vocabSize} (ids 0–${vocabSize - 1}); the tokenizer belongs to another model`,
    )
  }
  return []
}
