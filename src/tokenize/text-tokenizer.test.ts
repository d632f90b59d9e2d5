// Proves loadTokenizer/encode/encodePairs on seeded synthetic tokenizers of both families
// (BERT WordPiece and XLM-R Unigram): specials, truncation that keeps the final special token,
// padding, instructions, FlagEmbedding's pair truncation, max-length resolution and errors.

import { AutoTokenizer } from "@huggingface/transformers"
import { afterAll, describe, expect, test } from "bun:test"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { writeSyntheticTokenizer, type SpecialTokenIds, type TokenizerKind } from "../synth/index.ts"
import { batchRow, loadTokenizer, toBigInt64, TokenizerError, type TextTokenizer, type TokenBatch } from "./index.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-tokenize-"))
afterAll(() => rm(root, { recursive: true, force: true }))

const sentence = "the quick brown fox jumps over the lazy dog while rerankers score passages"
const longText = Array.from({ length: 12 }, () => sentence).join(" ")

/** Real (unpadded) ids and type ids of row r. */
const row = (batch: TokenBatch, r: number) => {
  const n = batch.lengths[r] as number
  return { ids: batchRow(batch, batch.inputIds, r).slice(0, n), types: batchRow(batch, batch.tokenTypeIds, r).slice(0, n) }
}

const failure = async (run: () => unknown): Promise<TokenizerError> => {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(TokenizerError)
    return error as TokenizerError
  }
  throw new Error("expected a TokenizerError")
}

interface Family {
  readonly kind: TokenizerKind
  /** Specials around one text: [CLS] … [SEP] or <s> … </s>. */
  readonly open: (ids: SpecialTokenIds) => number[]
  readonly close: (ids: SpecialTokenIds) => number[]
  /** Between query and passage: [SEP] or </s></s>. */
  readonly between: (ids: SpecialTokenIds) => number[]
  /** Token type of the passage part (BERT marks it 1; XLM-R has a single type). */
  readonly passageType: number
}

const families: readonly Family[] = [
  { kind: "wordpiece", open: (s) => [s.cls], close: (s) => [s.sep], between: (s) => [s.sep], passageType: 1 },
  { kind: "unigram", open: (s) => [s.cls], close: (s) => [s.sep], between: (s) => [s.sep, s.sep], passageType: 0 },
]

for (const family of families) {
  describe(`${family.kind} tokenizer`, async () => {
    const dir = join(root, family.kind)
    const info = await writeSyntheticTokenizer(dir, { kind: family.kind, vocabSize: 2000, seed: 7, modelMaxLength: 32 })
    const s = info.specialTokenIds
    const tokenizer: TextTokenizer = await loadTokenizer(dir)
    // The library's own encoding without specials, as the reference for content tokens.
    const reference = await AutoTokenizer.from_pretrained(dir, { local_files_only: true })
    const raw = (text: string): number[] => reference.encode(text, { add_special_tokens: false })

    test("reads maxLength from tokenizer_config.json and reports its specials", () => {
      expect(tokenizer.maxLength).toBe(32)
      expect(tokenizer.maxLengthSource).toBe("tokenizer_config.json")
      expect(tokenizer.padTokenId).toBe(s.pad)
      expect(tokenizer.specialTokens).toEqual({ single: 2, pair: 2 + family.between(s).length })
    })

    test("a single text is wrapped in the family's specials", () => {
      const batch = tokenizer.encode(["the quick fox"])
      expect(row(batch, 0).ids).toEqual([...family.open(s), ...raw("the quick fox"), ...family.close(s)])
      expect(row(batch, 0).types.every((t) => t === 0)).toBe(true)
      expect(Array.from(batch.attentionMask)).toEqual(Array(batch.dims[1]).fill(1))
    })

    test("truncation at maxLength keeps the closing special token", () => {
      const content = raw(longText)
      expect(content.length).toBeGreaterThan(40)
      const batch = tokenizer.encode([longText])
      expect(batch.dims).toEqual([1, 32])
      expect(row(batch, 0).ids).toEqual([...family.open(s), ...content.slice(0, 30), ...family.close(s)])
      const shorter = tokenizer.encode([longText], { maxLength: 10 })
      expect(row(shorter, 0).ids).toEqual([...family.open(s), ...content.slice(0, 8), ...family.close(s)])
      expect(tokenizer.tokenLengths([longText, "fox"])).toEqual([32, raw("fox").length + 2])
    })

    test("padding: longest pads to the batch's longest row, max_length to maxLength", () => {
      const texts = ["fox", "the quick brown fox"]
      const lengths = texts.map((t) => raw(t).length + 2)
      const longest = tokenizer.encode(texts, { padding: "longest" })
      expect(longest.dims).toEqual([2, Math.max(...lengths)])
      expect(Array.from(longest.lengths)).toEqual(lengths)
      const padded = tokenizer.encode(texts, { padding: "max_length", maxLength: 24 })
      expect(padded.dims).toEqual([2, 24])
      const first = batchRow(padded, padded.inputIds, 0)
      expect(first.slice(lengths[0])).toEqual(Array(24 - lengths[0]!).fill(s.pad))
      expect(batchRow(padded, padded.attentionMask, 0)).toEqual([...Array(lengths[0]).fill(1), ...Array(24 - lengths[0]!).fill(0)])
      expect(batchRow(padded, padded.tokenTypeIds, 0).slice(lengths[0])).toEqual(Array(24 - lengths[0]!).fill(0))
    })

    test("an instruction is prepended before tokenizing and counts towards maxLength", async () => {
      const instruction = "represent this sentence for searching relevant passages: "
      const withOption = tokenizer.encode(["lazy dog"], { instruction })
      expect(row(withOption, 0).ids).toEqual(row(tokenizer.encode([instruction + "lazy dog"]), 0).ids)
      const queryTokenizer = await loadTokenizer(dir, { instruction })
      expect(row(queryTokenizer.encode(["lazy dog"]), 0).ids).toEqual(row(withOption, 0).ids)
      expect(row(queryTokenizer.encode(["lazy dog"], { instruction: "" }), 0).ids).toEqual(row(tokenizer.encode(["lazy dog"]), 0).ids)
      expect(queryTokenizer.tokenLengths(["lazy dog"])[0]).toBe(raw(instruction + "lazy dog").length + 2)
    })

    test("a pair is [open] query [between] passage [close] with the family's token types", () => {
      const batch = tokenizer.encodePairs([["what is a fox", "the quick brown fox"]])
      const q = raw("what is a fox")
      const p = raw("the quick brown fox")
      expect(row(batch, 0).ids).toEqual([...family.open(s), ...q, ...family.between(s), ...p, ...family.close(s)])
      const firstSegment = 1 + q.length + (family.kind === "wordpiece" ? 1 : family.between(s).length)
      const types = row(batch, 0).types
      expect(types.slice(0, firstSegment).every((t) => t === 0)).toBe(true)
      expect(types.slice(firstSegment).every((t) => t === family.passageType)).toBe(true)
    })

    test("pairs: the query is cut to ⌊¾·maxLength⌋ tokens, then only the passage is cut", () => {
      const maxLength = 30
      const q = raw(longText)
      const p = raw(sentence + " " + sentence)
      const specials = tokenizer.specialTokens.pair
      const batch = tokenizer.encodePairs([[longText, sentence + " " + sentence]], { maxLength })
      const queryKept = Math.floor((maxLength * 3) / 4) // 22
      const passageKept = maxLength - specials - queryKept
      expect(row(batch, 0).ids).toEqual([...family.open(s), ...q.slice(0, queryKept), ...family.between(s), ...p.slice(0, passageKept), ...family.close(s)])
      expect(batch.dims).toEqual([1, maxLength])
    })

    test("pairs: a short query is kept whole and the passage fills the rest", () => {
      const q = raw("lazy dog")
      const p = raw(longText)
      const batch = tokenizer.encodePairs([["lazy dog", longText], ["fox", "dog"]], { padding: "max_length" })
      const kept = 32 - tokenizer.specialTokens.pair - q.length
      expect(row(batch, 0).ids).toEqual([...family.open(s), ...q, ...family.between(s), ...p.slice(0, kept), ...family.close(s)])
      expect(Array.from(batch.lengths)).toEqual([32, tokenizer.specialTokens.pair + raw("fox").length + raw("dog").length])
      expect(tokenizer.pairTokenLengths([["lazy dog", longText]])).toEqual([32])
    })

    test("pairs: a maxLength too small for query and specials is an error naming the pair", async () => {
      const specials = tokenizer.specialTokens.pair
      const tiny = specials + 1
      const error = await failure(() => tokenizer.encodePairs([["fox", "dog"], [longText, "dog"]], { maxLength: tiny }))
      expect(error.reason).toBe("too-long")
      expect(error.message).toContain(`pairs[1]: maxLength ${tiny} cannot hold`)
    })

    test("int32 batches convert to int64 for ONNX inputs", () => {
      const batch = tokenizer.encode(["fox"])
      expect(Array.from(toBigInt64(batch.inputIds))).toEqual(Array.from(batch.inputIds, BigInt))
    })
  })
}

describe("max length resolution", () => {
  test("an absurd model_max_length falls back to config.json, XLM-R minus its two offset positions", async () => {
    const dir = join(root, "absurd")
    await writeSyntheticTokenizer(dir, { kind: "unigram", vocabSize: 500, seed: 3, modelMaxLength: 64 })
    const configPath = join(dir, "tokenizer_config.json")
    const config = JSON.parse(await readFile(configPath, "utf8"))
    await writeFile(configPath, JSON.stringify({ ...config, model_max_length: 1e30 }))
    expect((await failure(() => loadTokenizer(dir))).message).toContain("pass maxLength explicitly")
    await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "xlm-roberta", max_position_embeddings: 514 }))
    const tokenizer = await loadTokenizer(dir)
    expect(tokenizer.maxLength).toBe(512)
    expect(tokenizer.maxLengthSource).toBe("config.json")
    expect((await loadTokenizer(dir, { maxLength: 128 })).maxLength).toBe(128)
  })
})

describe("errors", () => {
  test("a missing folder or tokenizer.json is named; a .gz copy gets a hint", async () => {
    const missing = join(root, "nope")
    expect((await failure(() => loadTokenizer(missing))).message).toBe(`${missing}: not a directory, expected a tokenizer folder`)
    const dir = join(root, "gz-only")
    await writeSyntheticTokenizer(dir, { kind: "wordpiece", vocabSize: 500, seed: 4, modelMaxLength: 16 })
    const json = await readFile(join(dir, "tokenizer.json"))
    await writeFile(join(dir, "tokenizer.json.gz"), gzipSync(json))
    await rm(join(dir, "tokenizer.json"))
    const error = await failure(() => loadTokenizer(dir))
    expect(error.reason).toBe("missing-file")
    expect(error.message).toContain("no tokenizer.json (found tokenizer.json.gz")
  })

  test("a missing tokenizer_config.json is named instead of transformers.js's TypeError", async () => {
    const dir = join(root, "no-config")
    await writeSyntheticTokenizer(dir, { kind: "wordpiece", vocabSize: 500, seed: 5, modelMaxLength: 16 })
    await rm(join(dir, "tokenizer_config.json"))
    expect((await failure(() => loadTokenizer(dir))).message).toBe(`${dir}: no tokenizer_config.json`)
  })

  test("a corrupt tokenizer.json is a load failure naming the folder", async () => {
    const dir = join(root, "corrupt")
    await writeSyntheticTokenizer(dir, { kind: "wordpiece", vocabSize: 500, seed: 6, modelMaxLength: 16 })
    await writeFile(join(dir, "tokenizer.json"), "{ not json")
    const error = await failure(() => loadTokenizer(dir))
    expect(error.reason).toBe("load-failed")
    expect(error.message).toStartWith(`${dir}: transformers.js could not load the tokenizer`)
  })

  test("bad options and inputs name the option or index", async () => {
    const dir = join(root, "options")
    await writeSyntheticTokenizer(dir, { kind: "wordpiece", vocabSize: 500, seed: 8, modelMaxLength: 16 })
    const tokenizer = await loadTokenizer(dir)
    expect((await failure(() => tokenizer.encode(["a"], { padding: "max" as "longest" }))).message).toContain(`option "padding"`)
    expect((await failure(() => tokenizer.encode(["a"], { maxLength: 2 }))).message).toContain("maxLength 2 leaves no room for text: this tokenizer adds 2 special tokens")
    expect((await failure(() => tokenizer.encode(["a", 3 as unknown as string]))).message).toContain("texts[1]: expected string, got number")
    expect((await failure(() => tokenizer.encode([]))).reason).toBe("invalid-input")
    expect((await failure(() => tokenizer.encodePairs([["q"] as unknown as [string, string]]))).message).toContain("pairs[0]: expected [query: string, passage: string]")
    expect((await failure(() => loadTokenizer(dir, { maxLength: 0 }))).message).toContain(`option "maxLength"`)
  })
})
