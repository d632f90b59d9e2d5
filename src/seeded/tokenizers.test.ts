// Proves synthetic tokenizers are real Hugging Face tokenizers: transformers.js loads them
// offline and encodes singles, pairs and truncated text as BERT / XLM-R would; copying works.

import { afterAll, describe, expect, test } from "bun:test"
import { existsSync } from "node:fs"
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { AutoTokenizer } from "@huggingface/transformers"
import { SynthError } from "./errors.ts"
import { copyTokenizer, tokenizerTokenId, tokenizerVocabSize, writeSyntheticTokenizer } from "./tokenizers.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-synth-tokenizer-"))
afterAll(() => rm(root, { recursive: true, force: true }))

/**
 * Loads `root/name` with transformers.js, strictly offline. An absolute path, not a name under
 * env.localModelPath: transformers.js memoises a file's existence by model name for the whole
 * process, so a bare name another test file loaded elsewhere could be answered from that folder.
 */
const loadTokenizer = (name: string) => AutoTokenizer.from_pretrained(join(root, name), { local_files_only: true })

const idsOf = (encoding: { input_ids: { tolist(): unknown } }): number[] =>
  (encoding.input_ids.tolist() as bigint[][])[0]!.map(Number)
const typeIdsOf = (encoding: { token_type_ids?: { tolist(): unknown } }): number[] | undefined =>
  encoding.token_type_ids ? (encoding.token_type_ids.tolist() as bigint[][])[0]!.map(Number) : undefined

const sentence = "The quick brown fox jumps over the lazy dog; rerankers score 42 passages!"
const longText = Array.from({ length: 40 }, () => sentence).join(" ")

describe("WordPiece (BERT) tokenizer", async () => {
  const info = await writeSyntheticTokenizer(join(root, "wordpiece"), { kind: "wordpiece", vocabSize: 3000, seed: 1, modelMaxLength: 32 })
  const tokenizer = await loadTokenizer("wordpiece")

  test("uses the BERT special-token layout", async () => {
    expect(info.specialTokenIds).toEqual({ pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 })
    expect(await tokenizerVocabSize(join(root, "wordpiece"))).toBe(3000)
    expect(await tokenizerTokenId(join(root, "wordpiece"), "[MASK]")).toBe(103)
    const vocabTxt = (await readFile(join(root, "wordpiece", "vocab.txt"), "utf8")).trimEnd().split("\n")
    expect(vocabTxt.length).toBe(3000)
    expect(vocabTxt.slice(100, 104)).toEqual(["[UNK]", "[CLS]", "[SEP]", "[MASK]"])
  })

  test("encodes a single sentence as [CLS] … [SEP] without unknowns, lowercased", () => {
    const ids = idsOf(tokenizer(sentence))
    expect(ids[0]).toBe(101)
    expect(ids.at(-1)).toBe(102)
    expect(ids).not.toContain(100)
    expect(tokenizer.tokenize("The FOX")).toEqual(["the", "fox"])
    // Unseen words fall back to ## continuations rather than [UNK].
    expect(tokenizer.tokenize("zzqx").every((piece: string, i: number) => (i === 0 ? !piece.startsWith("##") : piece.startsWith("##")))).toBe(true)
  })

  test("encodes a pair as [CLS] A [SEP] B [SEP] with token types 0 then 1", () => {
    const encoding = tokenizer("what is a cat?", { text_pair: "a cat is a small animal." })
    const ids = idsOf(encoding)
    const types = typeIdsOf(encoding)!
    const seps = ids.flatMap((id, i) => (id === 102 ? [i] : []))
    expect(ids[0]).toBe(101)
    expect(seps.length).toBe(2)
    expect(seps[1]).toBe(ids.length - 1)
    expect(types.slice(0, seps[0]! + 1).every((t) => t === 0)).toBe(true)
    expect(types.slice(seps[0]! + 1).every((t) => t === 1)).toBe(true)
  })

  // transformers.js 4.3.1 cuts the encoded ids after the special tokens were added, so the
  // closing [SEP] is lost (Python keeps it); only the length and the prefix are asserted.
  test("truncates to model_max_length", () => {
    const full = idsOf(tokenizer(longText))
    const ids = idsOf(tokenizer(longText, { truncation: true }))
    expect(full.length).toBeGreaterThan(32)
    expect(ids).toEqual(full.slice(0, 32))
    expect(idsOf(tokenizer(longText, { truncation: true, max_length: 10 }))).toEqual(full.slice(0, 10))
  })
})

describe("Unigram (XLM-R) tokenizer", async () => {
  const info = await writeSyntheticTokenizer(join(root, "unigram"), { kind: "unigram", vocabSize: 3000, seed: 1, modelMaxLength: 24 })
  const tokenizer = await loadTokenizer("unigram")

  test("uses the XLM-R special-token layout with <mask> last", async () => {
    expect(info.specialTokenIds).toEqual({ cls: 0, pad: 1, sep: 2, unk: 3, mask: 2999 })
    expect(await tokenizerVocabSize(join(root, "unigram"))).toBe(3000)
    expect(await tokenizerTokenId(join(root, "unigram"), "<mask>")).toBe(2999)
    expect(await tokenizerTokenId(join(root, "unigram"), "<pad>")).toBe(1)
  })

  test("encodes a single sentence as <s> … </s> with ▁ word starts, case kept, no unknowns", () => {
    const ids = idsOf(tokenizer(sentence))
    expect(ids[0]).toBe(0)
    expect(ids.at(-1)).toBe(2)
    expect(ids).not.toContain(3)
    expect(tokenizer.tokenize("The fox")).toEqual(["\u2581The", "\u2581fox"])
  })

  test("encodes a pair as <s> A </s></s> B </s>", () => {
    const a = idsOf(tokenizer("what is a cat?"))
    const b = idsOf(tokenizer("A cat is a small animal."))
    const pair = idsOf(tokenizer("what is a cat?", { text_pair: "A cat is a small animal." }))
    expect(pair).toEqual([...a, 2, ...b.slice(1)])
    expect(pair.filter((id) => id === 2).length).toBe(3)
  })

  test("truncates to model_max_length", () => {
    const full = idsOf(tokenizer(longText))
    expect(full.length).toBeGreaterThan(24)
    expect(idsOf(tokenizer(longText, { truncation: true }))).toEqual(full.slice(0, 24))
  })
})

describe("determinism and defaults", () => {
  test("same options give byte-identical files; another seed gives another vocabulary", async () => {
    const options = { kind: "unigram", vocabSize: 1500, seed: 9, modelMaxLength: 64 } as const
    await writeSyntheticTokenizer(join(root, "same-a"), options)
    await writeSyntheticTokenizer(join(root, "same-b"), options)
    await writeSyntheticTokenizer(join(root, "other"), { ...options, seed: 10 })
    for (const file of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) {
      expect(await readFile(join(root, "same-b", file))).toEqual(await readFile(join(root, "same-a", file)))
    }
    expect(await readFile(join(root, "other", "tokenizer.json"), "utf8")).not.toBe(await readFile(join(root, "same-a", "tokenizer.json"), "utf8"))
  })

  test("defaults to the real BERT vocabulary size", async () => {
    const info = await writeSyntheticTokenizer(join(root, "bert-default"), { kind: "wordpiece", seed: 3, modelMaxLength: 512 })
    expect(info.vocabSize).toBe(30522)
    expect(await tokenizerVocabSize(join(root, "bert-default"))).toBe(30522)
  })
})

describe("copyTokenizer", () => {
  test("a copied generated tokenizer loads and encodes like the original", async () => {
    await writeSyntheticTokenizer(join(root, "copy-src"), { kind: "wordpiece", vocabSize: 1200, seed: 4, modelMaxLength: 48 })
    const copied = await copyTokenizer(join(root, "copy-src"), join(root, "copy-dst"))
    expect(copied.vocabSize).toBe(1200)
    expect([...copied.files].sort()).toEqual(["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"])
    const original = await loadTokenizer("copy-src")
    const copy = await loadTokenizer("copy-dst")
    expect(idsOf(copy(sentence))).toEqual(idsOf(original(sentence)))
  })

  test("decompresses tokenizer.json.gz", async () => {
    await writeSyntheticTokenizer(join(root, "gz-build"), { kind: "unigram", vocabSize: 800, seed: 5, modelMaxLength: 48 })
    await mkdir(join(root, "gz-src"))
    const json = await readFile(join(root, "gz-build", "tokenizer.json"))
    await writeFile(join(root, "gz-src", "tokenizer.json.gz"), gzipSync(json))
    await writeFile(join(root, "gz-src", "tokenizer_config.json"), await readFile(join(root, "gz-build", "tokenizer_config.json")))
    expect(await tokenizerVocabSize(join(root, "gz-src"))).toBe(800)
    await copyTokenizer(join(root, "gz-src"), join(root, "gz-dst"))
    expect(await readFile(join(root, "gz-dst", "tokenizer.json"))).toEqual(json)
    expect(existsSync(join(root, "gz-dst", "tokenizer.json.gz"))).toBe(false)
  })

  test("a tokenizer.json.gz that inflates past the size its trailer declares is refused, naming the file", async () => {
    await mkdir(join(root, "gz-bomb"))
    const gz = Buffer.from(gzipSync(new Uint8Array(4 * 1024 * 1024).fill(0x20)))
    gz.writeUInt32LE(1000, gz.length - 4) // ISIZE: the uncompressed size the trailer declares
    await writeFile(join(root, "gz-bomb", "tokenizer.json.gz"), gz)
    await expect(tokenizerVocabSize(join(root, "gz-bomb"))).rejects.toThrow(/gz-bomb\/tokenizer\.json\.gz.*inflates past its declared 1000 bytes/)
  })

  const realTokenizers = "/work/shared/data/tokenizers"
  // ~1.5 s alone (a 250,002-piece vocabulary), over 12 s while other test processes share the 2
  // cores. Past bun's 5 s default it timed out, and its body ran on after afterAll had removed
  // `root`: transformers.js then found no tokenizer_config.json and threw "tokenizerConfig is
  // undefined" as an unhandled error between tests.
  test.skipIf(!existsSync(realTokenizers))("dev check: real BGE / XLM-R tokenizer folders copy with their real vocabulary sizes", async () => {
    expect((await copyTokenizer(join(realTokenizers, "bge-base-en-v1.5"), join(root, "real-bert"))).vocabSize).toBe(30522)
    expect((await copyTokenizer(join(realTokenizers, "xlmr_multilingual-e5-small"), join(root, "real-xlmr"))).vocabSize).toBe(250002)
    expect(idsOf((await loadTokenizer("real-bert"))("hello world"))).toEqual([101, 7592, 2088, 102])
  }, 30_000)
})

describe("bad input", () => {
  test("rejects a vocabulary too small for the special tokens and characters", async () => {
    const attempt = writeSyntheticTokenizer(join(root, "bad"), { kind: "wordpiece", vocabSize: 10, seed: 1, modelMaxLength: 8 })
    await expect(attempt).rejects.toBeInstanceOf(SynthError)
    await expect(attempt).rejects.toThrow(/vocabSize/)
  })

  test("names the missing tokenizer.json", async () => {
    await mkdir(join(root, "empty"))
    await expect(tokenizerVocabSize(join(root, "empty"))).rejects.toThrow(/tokenizer\.json not found/)
  })

  test("names a tokenizer.json that is not a tokenizer", async () => {
    await mkdir(join(root, "not-a-tokenizer"))
    await writeFile(join(root, "not-a-tokenizer", "tokenizer.json"), JSON.stringify({ model: { vocab: 3 } }))
    const attempt = copyTokenizer(join(root, "not-a-tokenizer"), join(root, "never"))
    await expect(attempt).rejects.toMatchObject({ _tag: "SynthError", reason: "InvalidFile" })
    expect(existsSync(join(root, "never"))).toBe(false)
  })
})
