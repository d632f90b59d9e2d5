// Synthetic Hugging Face tokenizers of two kinds — WordPiece in BERT's layout and Unigram/Metaspace
// in XLM-R's — generated from a seed, the tokenizer.json assembly helpers every generator shares
// (families with other tokenizers build theirs with them), plus copying and inspecting real
// tokenizer folders, so tests never download anything.

import { existsSync } from "node:fs"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { z } from "zod"
import { describeIssues } from "../schema/index.ts"
import { gunzipDeclared, ZipError } from "../zip/index.ts"
import { SynthError } from "./errors.ts"
import { SeededRandom } from "./random.ts"
import { cjkCharacters, frequentSuffixes, frequentWords, printableAscii, pseudoFragment, pseudoWord } from "./words.ts"

export type TokenizerKind = "wordpiece" | "unigram"

export interface SyntheticTokenizerOptions {
  readonly kind: TokenizerKind
  /** Total ids including special tokens; defaults to the real family's size (30522 / 250002). */
  readonly vocabSize?: number
  readonly seed: number
  readonly modelMaxLength: number
}

/** Ids of the special tokens, as a config.json needs them. */
export interface SpecialTokenIds {
  readonly pad: number
  readonly unk: number
  readonly cls: number
  readonly sep: number
  readonly mask: number
}

export interface SyntheticTokenizerInfo {
  readonly kind: TokenizerKind
  readonly vocabSize: number
  readonly specialTokenIds: SpecialTokenIds
  readonly files: readonly string[]
}

export const defaultTokenizerVocabSize: Record<TokenizerKind, number> = { wordpiece: 30522, unigram: 250002 }

/** Smallest vocabulary that still holds the special tokens and every printable ASCII character. */
export const minimumTokenizerVocabSize = 256

const optionsSchema = z.object({
  kind: z.enum(["wordpiece", "unigram"]),
  vocabSize: z.number().int().min(minimumTokenizerVocabSize).max(1_000_000).optional(),
  seed: z.number().int(),
  modelMaxLength: z.number().int().positive(),
})


/** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json (+ vocab.txt for WordPiece) into `dir`. */
export const writeSyntheticTokenizer = async (
  dir: string,
  options: SyntheticTokenizerOptions,
): Promise<SyntheticTokenizerInfo> => {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    throw new SynthError("InvalidOptions", `writeSyntheticTokenizer: invalid options: ${describeIssues(parsed.error, options, { schema: optionsSchema, rootName: "options" })}`)
  }
  const { kind, seed, modelMaxLength } = parsed.data
  const vocabSize = parsed.data.vocabSize ?? defaultTokenizerVocabSize[kind]
  const random = new SeededRandom(seed, `tokenizer/${kind}`)
  const files = kind === "wordpiece" ? wordPieceFiles(vocabSize, random, modelMaxLength) : unigramFiles(vocabSize, random, modelMaxLength)
  await writeTokenizerFiles(dir, files)
  return {
    kind,
    vocabSize,
    specialTokenIds: kind === "wordpiece" ? wordPieceSpecialIds : unigramSpecialIds(vocabSize),
    files: [...files.keys()],
  }
}

export const writeTokenizerFiles = async (dir: string, files: ReadonlyMap<string, string>): Promise<void> => {
  try {
    await mkdir(dir, { recursive: true })
    for (const [name, text] of files) await writeFile(join(dir, name), text)
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot write tokenizer files into ${dir}: ${String(cause)}`, dir)
  }
}

/** Collects unique tokens in insertion order up to a fixed size. */
export class VocabularyBuilder<T> {
  readonly entries: T[] = []
  private readonly seen = new Set<string>()
  constructor(
    readonly capacity: number,
    private readonly keyOf: (entry: T) => string,
  ) {}
  get full(): boolean {
    return this.entries.length >= this.capacity
  }
  add(entry: T): void {
    const key = this.keyOf(entry)
    if (this.full || this.seen.has(key)) return
    this.seen.add(key)
    this.entries.push(entry)
  }
  /** Adds generated entries until full; gives up (clearly) if the generator keeps repeating itself. */
  fill(generate: () => T): void {
    let attempts = 0
    const limit = this.capacity * 50 + 10_000
    while (!this.full) {
      if (++attempts > limit) {
        throw new SynthError("InvalidOptions", `cannot generate ${this.capacity} distinct tokens; use a smaller vocabSize`)
      }
      this.add(generate())
    }
  }
}

// ---- WordPiece (BERT) ----------------------------------------------------------------------

// The real BERT layout: [PAD] at 0, 99 unused slots, then [UNK] [CLS] [SEP] [MASK] at 100–103.
const wordPieceSpecialIds: SpecialTokenIds = { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 }
const wordPieceSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const

const wordPieceVocabulary = (vocabSize: number, random: SeededRandom): string[] => {
  const vocab = new VocabularyBuilder<string>(vocabSize, (token) => token)
  vocab.add("[PAD]")
  for (let i = 0; i < 99; i++) vocab.add(`[unused${i}]`)
  for (const token of ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]) vocab.add(token)
  // The normalizer lowercases, so upper-case letters can never be looked up.
  for (const char of printableAscii()) if (!/[A-Z]/.test(char)) vocab.add(char)
  for (const char of "abcdefghijklmnopqrstuvwxyz0123456789") vocab.add(`##${char}`)
  if (vocabSize >= 5000) for (const char of cjkCharacters(Math.floor(vocabSize / 15))) vocab.add(char)
  for (const word of frequentWords) vocab.add(word)
  for (const suffix of frequentSuffixes) vocab.add(`##${suffix}`)
  vocab.fill(() => (random.uniform() < 0.7 ? pseudoWord(random) : `##${pseudoFragment(random)}`))
  return vocab.entries
}

export const addedToken = (id: number, content: string, lstrip = false) => ({
  id,
  content,
  single_word: false,
  lstrip,
  rstrip: false,
  normalized: false,
  special: true,
})

export const specialTemplateToken = (token: string, typeId: number) => ({ SpecialToken: { id: token, type_id: typeId } })
export const sequenceTemplate = (sequence: "A" | "B", typeId: number) => ({ Sequence: { id: sequence, type_id: typeId } })

// The large vocabulary is spliced in by hand so ids stay in order in the file (JSON.stringify
// would move digit-like keys such as "7" to the front of an object).
export const vocabPlaceholder = "\u0000vocab\u0000"
export const stringifyWithVocab = (document: unknown, vocabJson: string): string => {
  const text = JSON.stringify(document, null, 2)
  const marker = JSON.stringify(vocabPlaceholder)
  const at = text.indexOf(marker)
  return `${text.slice(0, at)}${vocabJson}${text.slice(at + marker.length)}\n`
}

const wordPieceFiles = (vocabSize: number, random: SeededRandom, modelMaxLength: number): Map<string, string> => {
  const vocab = wordPieceVocabulary(vocabSize, random)
  const idOf = (token: string): number => vocab.indexOf(token)
  const document = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: wordPieceSpecialTokens.map((token) => addedToken(idOf(token), token)),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [specialTemplateToken("[CLS]", 0), sequenceTemplate("A", 0), specialTemplateToken("[SEP]", 0)],
      pair: [
        specialTemplateToken("[CLS]", 0),
        sequenceTemplate("A", 0),
        specialTemplateToken("[SEP]", 0),
        sequenceTemplate("B", 1),
        specialTemplateToken("[SEP]", 1),
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [wordPieceSpecialIds.cls], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [wordPieceSpecialIds.sep], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: vocabPlaceholder,
    },
  }
  const vocabJson = `{\n${vocab.map((token, id) => `      ${JSON.stringify(token)}: ${id}`).join(",\n")}\n    }`
  const specialTokensMap = { cls_token: "[CLS]", mask_token: "[MASK]", pad_token: "[PAD]", sep_token: "[SEP]", unk_token: "[UNK]" }
  const tokenizerConfig = {
    clean_up_tokenization_spaces: true,
    ...specialTokensMap,
    do_basic_tokenize: true,
    do_lower_case: true,
    model_max_length: modelMaxLength,
    never_split: null,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: "BertTokenizer",
  }
  return new Map([
    ["tokenizer.json", stringifyWithVocab(document, vocabJson)],
    ["tokenizer_config.json", `${JSON.stringify(tokenizerConfig, null, 2)}\n`],
    ["special_tokens_map.json", `${JSON.stringify(specialTokensMap, null, 2)}\n`],
    ["vocab.txt", `${vocab.join("\n")}\n`],
  ])
}

// ---- Unigram + Metaspace (XLM-RoBERTa) -------------------------------------------------------

const metaspace = "\u2581"
const unigramSpecialIds = (vocabSize: number): SpecialTokenIds => ({ cls: 0, pad: 1, sep: 2, unk: 3, mask: vocabSize - 1 })

type UnigramPiece = readonly [piece: string, score: number]

const roundScore = (score: number): number => Math.round(score * 1e4) / 1e4
const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1)

// Scores are log-probabilities: whole frequent words are cheap, single characters expensive,
// so the Viterbi split prefers real pieces and falls back to characters only when it must.
const unigramVocabulary = (vocabSize: number, random: SeededRandom): UnigramPiece[] => {
  const vocab = new VocabularyBuilder<UnigramPiece>(vocabSize - 1, ([piece]) => piece)
  for (const special of ["<s>", "<pad>", "</s>", "<unk>"]) vocab.add([special, 0])
  vocab.add([metaspace, -3.9])
  for (const char of printableAscii()) vocab.add([char, -13])
  frequentWords.forEach((word, rank) => vocab.add([metaspace + word, roundScore(-4 - 0.02 * rank)]))
  frequentWords.forEach((word, rank) => vocab.add([metaspace + capitalize(word), roundScore(-6.5 - 0.02 * rank)]))
  frequentSuffixes.forEach((suffix, rank) => vocab.add([suffix, roundScore(-6.5 - 0.05 * rank)]))
  if (vocabSize >= 5000) for (const char of cjkCharacters(Math.floor(vocabSize / 15))) vocab.add([char, -10])
  const generatedStart = vocab.entries.length
  const generatedCount = Math.max(1, vocab.capacity - generatedStart)
  vocab.fill(() => {
    const rank = vocab.entries.length - generatedStart
    const score = roundScore(-7.5 - 6 * (rank / generatedCount))
    const draw = random.uniform()
    if (draw < 0.6) return [metaspace + pseudoWord(random), score]
    if (draw < 0.7) return [metaspace + capitalize(pseudoWord(random)), score]
    return [pseudoFragment(random), score]
  })
  return [...vocab.entries, ["<mask>", 0]]
}

const unigramFiles = (vocabSize: number, random: SeededRandom, modelMaxLength: number): Map<string, string> => {
  const vocab = unigramVocabulary(vocabSize, random)
  const ids = unigramSpecialIds(vocabSize)
  const metaspaceConfig = { type: "Metaspace", replacement: metaspace, prepend_scheme: "always", split: true }
  const document = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(ids.cls, "<s>"),
      addedToken(ids.pad, "<pad>"),
      addedToken(ids.sep, "</s>"),
      addedToken(ids.unk, "<unk>"),
      addedToken(ids.mask, "<mask>", true),
    ],
    // Real XLM-R ships a SentencePiece "Precompiled" charsmap; NFKC is what it mostly encodes.
    normalizer: {
      type: "Sequence",
      normalizers: [{ type: "NFKC" }, { type: "Replace", pattern: { Regex: " {2,}" }, content: " " }],
    },
    pre_tokenizer: metaspaceConfig,
    post_processor: {
      type: "TemplateProcessing",
      single: [specialTemplateToken("<s>", 0), sequenceTemplate("A", 0), specialTemplateToken("</s>", 0)],
      pair: [
        specialTemplateToken("<s>", 0),
        sequenceTemplate("A", 0),
        specialTemplateToken("</s>", 0),
        specialTemplateToken("</s>", 0),
        sequenceTemplate("B", 0),
        specialTemplateToken("</s>", 0),
      ],
      special_tokens: {
        "</s>": { id: "</s>", ids: [ids.sep], tokens: ["</s>"] },
        "<s>": { id: "<s>", ids: [ids.cls], tokens: ["<s>"] },
      },
    },
    decoder: metaspaceConfig,
    model: { type: "Unigram", unk_id: ids.unk, vocab: vocabPlaceholder, byte_fallback: false },
  }
  const vocabJson = `[\n${vocab.map(([piece, score]) => `      [${JSON.stringify(piece)}, ${score}]`).join(",\n")}\n    ]`
  const specialTokensMap = {
    bos_token: "<s>",
    cls_token: "<s>",
    eos_token: "</s>",
    mask_token: "<mask>",
    pad_token: "<pad>",
    sep_token: "</s>",
    unk_token: "<unk>",
  }
  const tokenizerConfig = {
    ...specialTokensMap,
    clean_up_tokenization_spaces: true,
    model_max_length: modelMaxLength,
    sp_model_kwargs: {},
    tokenizer_class: "XLMRobertaTokenizer",
  }
  return new Map([
    ["tokenizer.json", stringifyWithVocab(document, vocabJson)],
    ["tokenizer_config.json", `${JSON.stringify(tokenizerConfig, null, 2)}\n`],
    ["special_tokens_map.json", `${JSON.stringify(specialTokensMap, null, 2)}\n`],
  ])
}

// ---- Real tokenizer folders ------------------------------------------------------------------

/** Files of a Hugging Face tokenizer folder worth carrying along (never config.json or weights). */
const tokenizerCompanionFiles = [
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.txt",
  "sentencepiece.bpe.model",
] as const

const tokenizerJsonSchema = z.object({
  added_tokens: z.array(z.object({ id: z.number().int().nonnegative(), content: z.string() })).optional(),
  model: z.object({
    type: z.string().optional(),
    vocab: z.union([
      z.record(z.string(), z.number().int().nonnegative()),
      z.array(z.tuple([z.string(), z.number()])),
    ]),
  }),
})

type TokenizerJson = z.infer<typeof tokenizerJsonSchema>

/** Reads `dir/tokenizer.json`, or `dir/tokenizer.json.gz` when only the compressed copy exists. */
const readTokenizerJsonText = async (dir: string): Promise<string> => {
  const plain = join(dir, "tokenizer.json")
  const compressed = `${plain}.gz`
  try {
    if (existsSync(plain)) return await readFile(plain, "utf8")
    if (existsSync(compressed)) return new TextDecoder().decode(gunzipDeclared(await readFile(compressed), compressed))
  } catch (cause) {
    if (cause instanceof ZipError) throw new SynthError("InvalidFile", cause.message, compressed)
    throw new SynthError("InvalidFile", `cannot read the tokenizer in ${dir}: ${String(cause)}`, dir)
  }
  throw new SynthError("MissingFile", `${plain} not found (nor tokenizer.json.gz): not a Hugging Face tokenizer folder`, plain)
}

const parseTokenizerJson = (text: string, path: string): TokenizerJson => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new SynthError("InvalidFile", `${path} is not valid JSON: ${String(cause)}`, path)
  }
  const parsed = tokenizerJsonSchema.safeParse(json)
  if (!parsed.success) {
    throw new SynthError(
      "InvalidFile",
      `${path} is not a Hugging Face tokenizer.json (expected model.vocab as a token→id map or a [piece, score] list): ${describeIssues(parsed.error, json, { schema: tokenizerJsonSchema })}`,
      path,
    )
  }
  return parsed.data
}

const vocabSizeOf = (tokenizer: TokenizerJson): number => {
  const vocab = tokenizer.model.vocab
  let maxId = -1
  if (Array.isArray(vocab)) maxId = vocab.length - 1
  else for (const id of Object.values(vocab)) maxId = Math.max(maxId, id)
  for (const token of tokenizer.added_tokens ?? []) maxId = Math.max(maxId, token.id)
  return maxId + 1
}

/** Number of ids the tokenizer in `dir` can emit (model vocabulary and added tokens), i.e. config.json's vocab_size. */
export const tokenizerVocabSize = async (dir: string): Promise<number> =>
  vocabSizeOf(parseTokenizerJson(await readTokenizerJsonText(dir), join(dir, "tokenizer.json")))

/** Id of a token in the tokenizer in `dir`, or undefined when it has no such token. */
export const tokenizerTokenId = async (dir: string, token: string): Promise<number | undefined> => {
  const tokenizer = parseTokenizerJson(await readTokenizerJsonText(dir), join(dir, "tokenizer.json"))
  const added = tokenizer.added_tokens?.find((entry) => entry.content === token)
  if (added) return added.id
  const vocab = tokenizer.model.vocab
  if (Array.isArray(vocab)) {
    const index = vocab.findIndex(([piece]) => piece === token)
    return index < 0 ? undefined : index
  }
  return Object.hasOwn(vocab, token) ? vocab[token] : undefined
}

/**
 * Copies a real tokenizer folder (tokenizer.json, decompressing tokenizer.json.gz, and the
 * companion files that exist) into `toDir`. Returns the copied file names and the vocabulary size.
 */
export const copyTokenizer = async (
  fromDir: string,
  toDir: string,
): Promise<{ readonly vocabSize: number; readonly files: readonly string[] }> => {
  const text = await readTokenizerJsonText(fromDir)
  const vocabSize = vocabSizeOf(parseTokenizerJson(text, join(fromDir, "tokenizer.json")))
  const files = new Map<string, string | Uint8Array>([["tokenizer.json", text]])
  for (const name of tokenizerCompanionFiles) {
    const path = join(fromDir, name)
    if (!existsSync(path)) continue
    try {
      files.set(name, await readFile(path))
    } catch (cause) {
      throw new SynthError("InvalidFile", `cannot read ${path}: ${String(cause)}`, path)
    }
  }
  try {
    await mkdir(toDir, { recursive: true })
    for (const [name, content] of files) await writeFile(join(toDir, name), content)
  } catch (cause) {
    throw new SynthError("WriteFailed", `cannot copy the tokenizer into ${toDir}: ${String(cause)}`, toDir)
  }
  return { vocabSize, files: [...files.keys()] }
}
