// Tokenization for BGE embedding models and rerankers on top of transformers.js's AutoTokenizer,
// loaded offline from a model folder, producing ONNX-ready batches.
//
// Offline loading: the folder is passed to AutoTokenizer.from_pretrained as an absolute path with
// `local_files_only: true`. transformers.js 4.3.1 (verified under Bun 1.4.4) treats any string
// that is not a hub id ("org/name") as a path and, with local_files_only, throws instead of
// fetching when a file is missing. We never touch the global `env` (allowRemoteModels,
// localModelPath), so other code in the process keeps its settings; the path is made absolute
// so a relative folder such as "BAAI/bge-m3" is not mistaken for a hub id resolved under
// env.localModelPath. Loading does fail if another caller sets env.allowLocalModels = false.
//
// Truncation is done here on the raw token ids, not by transformers.js, so pairs follow
// FlagEmbedding's reranker rules exactly; special tokens are then added by the template the
// tokenizer itself uses (see special-template.ts).

import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers"
import { existsSync, statSync } from "node:fs"
import { join, resolve } from "node:path"
import { z } from "zod"
import { describeIssue, formatIssuePath } from "../schema/index.ts"
import { TokenizerError } from "./errors.ts"
import { largestPlausibleMaxLength, resolveMaxLength, type ResolvedMaxLength } from "./max-length.ts"
import { probeSpecialTemplate, specialCount, type SpecialTemplate } from "./special-template.ts"
import { packRows, type TokenBatch, type TokenRow } from "./token-batch.ts"

export type Padding = "longest" | "max_length"

export interface LoadTokenizerOptions {
  /** Longest sequence, specials included; default from tokenizer_config.json / config.json. */
  readonly maxLength?: number
  /** Prepended to every text `encode` sees unless a call overrides it (e.g. a query instruction). */
  readonly instruction?: string
}

export interface EncodeOptions {
  /** "longest": pad to the longest row of this batch (default); "max_length": pad to maxLength. */
  readonly padding?: Padding
  readonly maxLength?: number
  /** Overrides the tokenizer's instruction for this call; "" for none. */
  readonly instruction?: string
}

export interface PairEncodeOptions {
  readonly padding?: Padding
  readonly maxLength?: number
}

export interface TextTokenizer {
  /** Absolute path of the tokenizer folder. */
  readonly dir: string
  readonly maxLength: number
  readonly maxLengthSource: ResolvedMaxLength["source"]
  readonly instruction: string
  readonly padTokenId: number
  /** e.g. "BertTokenizer", "XLMRobertaTokenizer". */
  readonly tokenizerClass: string
  /** Special tokens added around one text and around a pair. */
  readonly specialTokens: { readonly single: number; readonly pair: number }
  /** Texts (instruction prepended) truncated to maxLength with specials, padded as asked. */
  encode(texts: readonly string[], options?: EncodeOptions): TokenBatch
  /**
   * Reranker input, FlagEmbedding's rules: the query's tokens are cut to ⌊maxLength·3/4⌋, then
   * the pair with specials is cut to maxLength by shortening only the passage.
   */
  encodePairs(pairs: readonly (readonly [string, string])[], options?: PairEncodeOptions): TokenBatch
  /** Token counts `encode` would give each text (specials included, after truncation), for sorting batches. */
  tokenLengths(texts: readonly string[], options?: Omit<EncodeOptions, "padding">): number[]
  /** Token counts `encodePairs` would give each pair. */
  pairTokenLengths(pairs: readonly (readonly [string, string])[], options?: Omit<PairEncodeOptions, "padding">): number[]
}

const MaxLength = z.number().int().positive().max(largestPlausibleMaxLength)
const LoadOptionsSchema = z.strictObject({ maxLength: MaxLength.optional(), instruction: z.string().optional() })
const EncodeOptionsSchema = z.strictObject({
  padding: z.enum(["longest", "max_length"]).optional(),
  maxLength: MaxLength.optional(),
  instruction: z.string().optional(),
})
const PairOptionsSchema = z.strictObject({ padding: z.enum(["longest", "max_length"]).optional(), maxLength: MaxLength.optional() })

const checkOptions = <T>(schema: z.ZodType<T>, value: unknown, where: string): T => {
  const parsed = schema.safeParse(value ?? {})
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? "options" : `option "${formatIssuePath(issue.path)}"`
  throw new TokenizerError("invalid-option", `${where}: ${field} ${issue === undefined ? "is invalid" : describeIssue(issue, value ?? {}, { schema, subject: false })}`)
}

const checkTexts = (texts: unknown, where: string): readonly string[] => {
  if (!Array.isArray(texts)) throw new TokenizerError("invalid-input", `${where}: expected an array of strings, got ${typeof texts}`)
  if (texts.length === 0) throw new TokenizerError("invalid-input", `${where}: expected at least one text, got an empty array`)
  texts.forEach((text, i) => {
    if (typeof text !== "string") throw new TokenizerError("invalid-input", `${where}: texts[${i}]: expected string, got ${text === null ? "null" : typeof text}`)
  })
  return texts as string[]
}

const checkPairs = (pairs: unknown, where: string): readonly (readonly [string, string])[] => {
  if (!Array.isArray(pairs)) throw new TokenizerError("invalid-input", `${where}: expected an array of [query, passage] pairs, got ${typeof pairs}`)
  if (pairs.length === 0) throw new TokenizerError("invalid-input", `${where}: expected at least one pair, got an empty array`)
  pairs.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw new TokenizerError("invalid-input", `${where}: pairs[${i}]: expected [query: string, passage: string]`)
    }
  })
  return pairs as (readonly [string, string])[]
}

const requireFile = (dir: string, name: string): void => {
  const path = join(dir, name)
  if (existsSync(path)) return
  const hint = existsSync(`${path}.gz`) ? ` (found ${name}.gz: decompress it, transformers.js reads ${name})` : ""
  throw new TokenizerError("missing-file", `${dir}: no ${name}${hint}`, { path })
}

class LoadedTokenizer implements TextTokenizer {
  readonly padTokenId: number
  readonly tokenizerClass: string
  readonly specialTokens: { readonly single: number; readonly pair: number }

  constructor(
    readonly dir: string,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly template: SpecialTemplate,
    private readonly resolved: ResolvedMaxLength,
    readonly instruction: string,
  ) {
    this.padTokenId = tokenizer.pad_token_id ?? 0
    this.tokenizerClass = tokenizer.constructor.name
    this.specialTokens = { single: specialCount.single(template), pair: specialCount.pair(template) }
  }

  get maxLength(): number {
    return this.resolved.maxLength
  }

  get maxLengthSource(): ResolvedMaxLength["source"] {
    return this.resolved.source
  }

  private raw(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false })
  }

  private lengthFor(where: string, maxLength: number | undefined, specials: number): number {
    const length = maxLength ?? this.maxLength
    if (length <= specials) {
      throw new TokenizerError("invalid-option", `${where}: maxLength ${length} leaves no room for text: this tokenizer adds ${specials} special tokens`, { path: this.dir })
    }
    return length
  }

  private singleRow(text: string, maxLength: number): TokenRow {
    const { prefix, suffix, typeId } = this.template.single
    const content = this.raw(text).slice(0, maxLength - prefix.ids.length - suffix.ids.length)
    return {
      ids: [...prefix.ids, ...content, ...suffix.ids],
      typeIds: [...prefix.typeIds, ...content.map(() => typeId), ...suffix.typeIds],
    }
  }

  private pairRow(where: string, index: number, query: string, passage: string, maxLength: number): TokenRow {
    const { prefix, middle, suffix, typeIdA, typeIdB } = this.template.pair
    const q = this.raw(query).slice(0, Math.floor((maxLength * 3) / 4))
    const room = maxLength - this.specialTokens.pair - q.length
    if (room < 0) {
      throw new TokenizerError(
        "too-long",
        `${where}: pairs[${index}]: maxLength ${maxLength} cannot hold the ${q.length}-token query (¾ of maxLength) and ${this.specialTokens.pair} special tokens; use a larger maxLength`,
        { path: this.dir },
      )
    }
    const p = this.raw(passage).slice(0, room)
    return {
      ids: [...prefix.ids, ...q, ...middle.ids, ...p, ...suffix.ids],
      typeIds: [...prefix.typeIds, ...q.map(() => typeIdA), ...middle.typeIds, ...p.map(() => typeIdB), ...suffix.typeIds],
    }
  }

  private pack(rows: readonly TokenRow[], padding: Padding | undefined, maxLength: number): TokenBatch {
    const seqLength = padding === "max_length" ? maxLength : rows.reduce((longest, row) => Math.max(longest, row.ids.length), 0)
    return packRows(rows, seqLength, this.padTokenId)
  }

  encode(texts: readonly string[], options?: EncodeOptions): TokenBatch {
    const where = `encode (${this.dir})`
    const opts = checkOptions(EncodeOptionsSchema, options, where)
    const maxLength = this.lengthFor(where, opts.maxLength, this.specialTokens.single)
    const instruction = opts.instruction ?? this.instruction
    const rows = checkTexts(texts, where).map((text) => this.singleRow(instruction + text, maxLength))
    return this.pack(rows, opts.padding, maxLength)
  }

  encodePairs(pairs: readonly (readonly [string, string])[], options?: PairEncodeOptions): TokenBatch {
    const where = `encodePairs (${this.dir})`
    const opts = checkOptions(PairOptionsSchema, options, where)
    const maxLength = this.lengthFor(where, opts.maxLength, this.specialTokens.pair)
    const rows = checkPairs(pairs, where).map(([query, passage], i) => this.pairRow(where, i, query, passage, maxLength))
    return this.pack(rows, opts.padding, maxLength)
  }

  tokenLengths(texts: readonly string[], options?: Omit<EncodeOptions, "padding">): number[] {
    return Array.from(this.encode(texts, { ...options, padding: "longest" }).lengths)
  }

  pairTokenLengths(pairs: readonly (readonly [string, string])[], options?: Omit<PairEncodeOptions, "padding">): number[] {
    return Array.from(this.encodePairs(pairs, { ...options, padding: "longest" }).lengths)
  }
}

/** Loads the tokenizer in `dir` (tokenizer.json + tokenizer_config.json) without any network access. */
export const loadTokenizer = async (dir: string, options?: LoadTokenizerOptions): Promise<TextTokenizer> => {
  const absolute = resolve(dir)
  const opts = checkOptions(LoadOptionsSchema, options, `loadTokenizer (${absolute})`)
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new TokenizerError("missing-file", `${absolute}: not a directory, expected a tokenizer folder`, { path: absolute })
  }
  requireFile(absolute, "tokenizer.json")
  // transformers.js needs it to pick the tokenizer class and fails with a TypeError without it.
  requireFile(absolute, "tokenizer_config.json")
  const resolved = await resolveMaxLength(absolute, opts.maxLength)
  let tokenizer: PreTrainedTokenizer
  try {
    tokenizer = await AutoTokenizer.from_pretrained(absolute, { local_files_only: true })
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    throw new TokenizerError("load-failed", `${absolute}: transformers.js could not load the tokenizer: ${why}`, { path: absolute, cause })
  }
  const template = probeSpecialTemplate(absolute, tokenizer)
  return new LoadedTokenizer(absolute, tokenizer, template, resolved, opts.instruction ?? "")
}
