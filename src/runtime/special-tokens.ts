// The token ids bge-m3's sparse output drops, read from the bundle's tokenizer files: FlagEmbedding
// ignores the CLS, EOS/SEP, PAD and UNK tokens (for XLM-R: 0, 2, 1, 3) when collecting lexical weights.
import { existsSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { readJsonFile } from "../schema/index.ts"
import { RuntimeError } from "./errors.ts"

const TokenRef = z.union([z.string(), z.object({ content: z.string() })])
const SpecialMap = z.object({
  cls_token: TokenRef.optional(),
  sep_token: TokenRef.optional(),
  eos_token: TokenRef.optional(),
  pad_token: TokenRef.optional(),
  unk_token: TokenRef.optional(),
})
const TokenizerJson = z.object({
  added_tokens: z.array(z.object({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean().optional() })).default([]),
})

const readJson = <S extends z.ZodType>(path: string, schema: S, what: string): z.output<S> =>
  readJsonFile(path, schema, what, (error) => new RuntimeError("invalid-bundle", error.message, { path, cause: error }))

/** Ids of the CLS, SEP/EOS, PAD and UNK tokens of the tokenizer in `dir`. */
export const sparseExcludedTokenIds = (dir: string): ReadonlySet<number> => {
  const tokenizerPath = join(dir, "tokenizer.json")
  const tokenizer = readJson(tokenizerPath, TokenizerJson, "the tokenizer")
  const byContent = new Map(tokenizer.added_tokens.map((t) => [t.content, t.id]))
  const names = new Set<string>()
  for (const file of ["special_tokens_map.json", "tokenizer_config.json"]) {
    const path = join(dir, file)
    if (!existsSync(path)) continue
    const map = SpecialMap.safeParse(readJson(path, z.unknown(), "the special tokens"))
    if (!map.success) continue
    for (const ref of Object.values(map.data)) if (ref !== undefined) names.add(typeof ref === "string" ? ref : ref.content)
  }
  const ids = [...names].flatMap((name) => (byContent.has(name) ? [byContent.get(name)!] : []))
  if (ids.length === 0) {
    throw new RuntimeError("invalid-bundle", `${dir}: no CLS/SEP/PAD/UNK token found in special_tokens_map.json or tokenizer_config.json that tokenizer.json's added_tokens defines`, { path: dir })
  }
  return new Set(ids)
}
