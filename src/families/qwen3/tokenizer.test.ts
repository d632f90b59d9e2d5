// Proves the synthetic Qwen3 tokenizer is a real Qwen2-format tokenizer: transformers.js loads it
// as a Qwen2Tokenizer offline, byte-level BPE round-trips any text, <|endoftext|> (the pad token)
// ends every text as Qwen3-Embedding's does and padding is on the left; kiln's own tokenizer reads
// the same template and keeps <|endoftext|> when it truncates; the files are seeded and deterministic.
import { AutoTokenizer } from "@huggingface/transformers"
import { afterAll, expect, test } from "bun:test"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { batchRow, loadTokenizer } from "../../tokenize/index.ts"
import { writeQwen3Tokenizer } from "./tokenizer.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-qwen3-tokenizer-"))
afterAll(() => rm(root, { recursive: true, force: true }))

const dir = join(root, "a")
const info = await writeQwen3Tokenizer(dir, { size: 1200, seed: 5, modelMaxLength: 64 })
const texts = ["The cat sat on the mat.", "Instruct: Given a web search query\nQuery:what is a cat?", "Ünïcödé, 数字 123 and world's end!"]

test("transformers.js loads it as a Qwen2Tokenizer; ids round-trip and end in <|endoftext|>", async () => {
  const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true })
  expect(tokenizer.constructor.name).toBe("Qwen2Tokenizer")
  expect(info.size).toBe(1200)
  expect(tokenizer.pad_token_id).toBe(info.endOfTextId)
  for (const text of texts) {
    const ids = tokenizer.encode(text)
    expect(ids.at(-1)).toBe(info.endOfTextId)
    expect(ids.every((id) => id >= 0 && id < info.size)).toBe(true)
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text)
  }
  // Merges are used: a frequent word is one token, not its bytes.
  expect(tokenizer.encode(" the", { add_special_tokens: false })).toHaveLength(1)
})

test("padding is on the left, as Qwen3-Embedding's tokenizer_config.json says", async () => {
  const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true })
  const batch = tokenizer(texts.slice(0, 2), { padding: true })
  const mask = (batch.attention_mask.tolist() as bigint[][]).map((row) => row.map(Number))
  expect(mask[0]![0]).toBe(0)
  expect(mask[0]!.at(-1)).toBe(1)
})

test("kiln's tokenizer finds <|endoftext|> as the suffix and keeps it when truncating", async () => {
  const tokenizer = await loadTokenizer(dir)
  expect(tokenizer.specialTokens.single).toBe(1)
  expect(tokenizer.padTokenId).toBe(info.endOfTextId)
  expect(tokenizer.maxLength).toBe(64)
  const batch = tokenizer.encode([texts[1]!.repeat(20)], { maxLength: 16 })
  const row = batchRow(batch, batch.inputIds, 0)
  expect(row).toHaveLength(16)
  expect(row.at(-1)).toBe(info.endOfTextId)
})

test("the same seed writes byte-identical files; another seed does not (once pseudo-words are drawn)", async () => {
  for (const [name, seed] of [["b", 5], ["c", 5], ["d", 6]] as const) await writeQwen3Tokenizer(join(root, name), { size: 3000, seed, modelMaxLength: 64 })
  const read = (name: string) => readFile(join(root, name, "tokenizer.json"), "utf8")
  expect((await read("b")) === (await read("c"))).toBe(true)
  expect((await read("b")) === (await read("d"))).toBe(false)
})
