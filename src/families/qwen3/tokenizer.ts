// A seeded synthetic tokenizer in the format of Qwen3-Embedding's (the Qwen2 tokenizer):
// byte-level BPE — NFC normalizer, Qwen2's Split regex then ByteLevel pre-tokenizer, a vocabulary
// starting with the 256 byte symbols in GPT-2's order, ranked merges — with <|endoftext|>,
// <|im_start|>, <|im_end|> as added tokens after the vocabulary, and Qwen3-Embedding's
// post-processor appending <|endoftext|> (also the pad token) to every text. transformers.js
// loads it as a Qwen2Tokenizer. Words come from the seeded toolkit's English-like vocabulary.
import {
  addedToken,
  frequentSuffixes,
  frequentWords,
  pseudoWord,
  SeededRandom,
  sequenceTemplate,
  specialTemplateToken,
  stringifyWithVocab,
  vocabPlaceholder,
  writeTokenizerFiles,
} from "../../seeded/index.ts"

/** Qwen2's pre-tokenizer split (contractions, letters, single digits, punctuation runs, newlines, spaces). */
const qwen2SplitPattern =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

export const endOfText = "<|endoftext|>"
const specialTokens = [endOfText, "<|im_start|>", "<|im_end|>"] as const

/**
 * GPT-2's printable stand-ins for the 256 bytes: `order` as byte-level vocabularies list them
 * (printable bytes first), `byByte[b]` the symbol of byte b.
 */
export const byteSymbols = (): { readonly order: string[]; readonly byByte: string[] } => {
  const printable: number[] = []
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b)
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b)
  for (let b = 0xae; b <= 0xff; b++) printable.push(b)
  const byByte: string[] = []
  for (const b of printable) byByte[b] = String.fromCharCode(b)
  let next = 0
  const rest: number[] = []
  for (let b = 0; b < 256; b++) {
    if (printable.includes(b)) continue
    byByte[b] = String.fromCharCode(256 + next++)
    rest.push(b)
  }
  return { order: [...printable, ...rest].map((b) => byByte[b]!), byByte }
}

/** The byte-level form of a word: each UTF-8 byte as its symbol (a leading space becomes "Ġ"). */
const byteLevel = (text: string, byByte: readonly string[]): string => [...new TextEncoder().encode(text)].map((b) => byByte[b]!).join("")

export interface Qwen3TokenizerInfo {
  /** Ids the tokenizer can emit: vocabulary plus the three added tokens. */
  readonly size: number
  readonly endOfTextId: number
  readonly imEndId: number
  readonly files: readonly string[]
}

/**
 * Writes tokenizer.json and tokenizer_config.json into `dir`: `size` ids in all (≥ 512), merges
 * building frequent words (with and without a leading space) and seeded pseudo-words left to right.
 */
export const writeQwen3Tokenizer = async (dir: string, options: { readonly size: number; readonly seed: number; readonly modelMaxLength: number }): Promise<Qwen3TokenizerInfo> => {
  const capacity = options.size - specialTokens.length
  const { order, byByte } = byteSymbols()
  const pieces = [...order]
  const known = new Set(pieces)
  const merges: string[] = []
  /** Adds the merges that build `word` left to right, if they all fit. */
  const addWord = (word: string): void => {
    const symbols = [...word]
    const missing = symbols.slice(1).filter((_, i) => !known.has(symbols.slice(0, i + 2).join(""))).length
    if (symbols.length < 2 || pieces.length + missing > capacity) return
    for (let i = 1; i < symbols.length; i++) {
      const left = symbols.slice(0, i).join("")
      const merged = left + symbols[i]
      if (known.has(merged)) continue
      known.add(merged)
      pieces.push(merged)
      merges.push(`${left} ${symbols[i]}`)
    }
  }
  for (const word of frequentWords) {
    addWord(byteLevel(` ${word}`, byByte))
    addWord(byteLevel(word, byByte))
  }
  for (const suffix of frequentSuffixes) addWord(byteLevel(suffix, byByte))
  const random = new SeededRandom(options.seed, "tokenizer/qwen3-bpe")
  for (let attempts = 0; pieces.length < capacity && attempts < capacity * 50; attempts++) addWord(byteLevel(` ${pseudoWord(random)}`, byByte))
  // Whatever room is left (too small for another whole word) holds two-symbol pieces.
  for (let a = 0; pieces.length < capacity && a < order.length; a++) addWord(order[a]! + order[(a * 7 + 3) % order.length]!)
  const [endOfTextId, imStartId, imEndId] = [pieces.length, pieces.length + 1, pieces.length + 2]
  const byteLevelStep = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }
  const document = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((token, i) => addedToken(pieces.length + i, token)),
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [{ type: "Split", pattern: { Regex: qwen2SplitPattern }, behavior: "Isolated", invert: false }, byteLevelStep],
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [sequenceTemplate("A", 0), specialTemplateToken(endOfText, 0)],
      pair: [sequenceTemplate("A", 0), specialTemplateToken(endOfText, 0), sequenceTemplate("B", 1), specialTemplateToken(endOfText, 1)],
      special_tokens: { [endOfText]: { id: endOfText, ids: [endOfTextId], tokens: [endOfText] } },
    },
    decoder: byteLevelStep,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabPlaceholder,
      merges: merges,
    },
  }
  const vocabJson = `{\n${pieces.map((piece, id) => `      ${JSON.stringify(piece)}: ${id}`).join(",\n")}\n    }`
  const addedTokensDecoder = Object.fromEntries(
    specialTokens.map((token, i) => [String(pieces.length + i), { content: token, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
  )
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: null,
    clean_up_tokenization_spaces: false,
    eos_token: "<|im_end|>",
    errors: "replace",
    model_max_length: options.modelMaxLength,
    pad_token: endOfText,
    padding_side: "left",
    split_special_tokens: false,
    tokenizer_class: "Qwen2Tokenizer",
    unk_token: null,
  }
  const files = new Map([
    ["tokenizer.json", stringifyWithVocab(document, vocabJson)],
    ["tokenizer_config.json", `${JSON.stringify(tokenizerConfig, null, 2)}\n`],
  ])
  await writeTokenizerFiles(dir, files)
  void imStartId
  return { size: pieces.length + specialTokens.length, endOfTextId, imEndId, files: [...files.keys()] }
}
