// Where a tokenizer puts its special tokens around one text or a pair ([CLS] A [SEP] B [SEP] for
// BERT, <s> A </s></s> B </s> for XLM-R), learnt by asking the loaded tokenizer to encode probe
// texts. Knowing the template lets us truncate the raw token ids ourselves (FlagEmbedding's
// pair rules) and still add exactly the specials the tokenizer's post-processor would.

import type { PreTrainedTokenizer } from "@huggingface/transformers"
import { TokenizerError } from "./errors.ts"

/** A run of special tokens and the token type id each carries. */
export interface SpecialRun {
  readonly ids: readonly number[]
  readonly typeIds: readonly number[]
}

export interface SpecialTemplate {
  /** around a single text: prefix A suffix */
  readonly single: { readonly prefix: SpecialRun; readonly suffix: SpecialRun; readonly typeId: number }
  /** around a pair: prefix A middle B suffix */
  readonly pair: { readonly prefix: SpecialRun; readonly middle: SpecialRun; readonly suffix: SpecialRun; readonly typeIdA: number; readonly typeIdB: number }
}

export const specialCount = {
  single: (t: SpecialTemplate): number => t.single.prefix.ids.length + t.single.suffix.ids.length,
  pair: (t: SpecialTemplate): number => t.pair.prefix.ids.length + t.pair.middle.ids.length + t.pair.suffix.ids.length,
}

interface Encoded {
  readonly input_ids: number[]
  readonly token_type_ids?: number[]
}

const probeTexts = ["a", "b", "hello", "1", "x"]

/** Splits `ids` into special runs around the given content parts, checking the runs are all special. */
const splitAround = (dir: string, encoded: Encoded, parts: readonly (readonly number[])[], special: ReadonlySet<number>): { runs: SpecialRun[]; partTypeIds: number[] } => {
  const ids = encoded.input_ids
  const typeIds = encoded.token_type_ids ?? ids.map(() => 0)
  const runs: SpecialRun[] = []
  const partTypeIds: number[] = []
  let pos = 0
  const takeRun = (): void => {
    const start = pos
    while (pos < ids.length && special.has(ids[pos] as number)) pos++
    runs.push({ ids: ids.slice(start, pos), typeIds: typeIds.slice(start, pos) })
  }
  for (const part of parts) {
    takeRun()
    const matches = part.every((id, k) => ids[pos + k] === id)
    if (!matches) {
      throw new TokenizerError("load-failed", `${dir}: cannot tell where the tokenizer adds special tokens (encoding [${ids.join(", ")}] does not contain [${part.join(", ")}])`, { path: dir })
    }
    partTypeIds.push(typeIds[pos] ?? 0)
    pos += part.length
  }
  takeRun()
  if (pos !== ids.length) {
    throw new TokenizerError("load-failed", `${dir}: the tokenizer adds non-special tokens around the text ([${ids.join(", ")}]); only template post-processors are supported`, { path: dir })
  }
  return { runs, partTypeIds }
}

export const probeSpecialTemplate = (dir: string, tokenizer: PreTrainedTokenizer): SpecialTemplate => {
  const special = new Set(tokenizer.all_special_ids)
  const raw = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false })
  // Probe texts must tokenize to ordinary tokens (not [UNK]) so they can be told from the specials.
  const usable = probeTexts.filter((text) => {
    const ids = raw(text)
    return ids.length > 0 && ids.every((id) => !special.has(id))
  })
  const [textA, textB] = usable
  if (textA === undefined || textB === undefined) {
    throw new TokenizerError("load-failed", `${dir}: the tokenizer maps every probe text (${probeTexts.join(", ")}) to special or no tokens`, { path: dir })
  }
  const idsA = raw(textA)
  const idsB = raw(textB)
  const call = (text: string, pair?: string): Encoded =>
    tokenizer._call(text, { text_pair: pair ?? null, return_tensor: false, return_token_type_ids: true }) as unknown as Encoded
  const single = splitAround(dir, call(textA), [idsA], special)
  const pair = splitAround(dir, call(textA, textB), [idsA, idsB], special)
  const [sPrefix, sSuffix] = single.runs as [SpecialRun, SpecialRun]
  const [pPrefix, pMiddle, pSuffix] = pair.runs as [SpecialRun, SpecialRun, SpecialRun]
  return {
    single: { prefix: sPrefix, suffix: sSuffix, typeId: single.partTypeIds[0] ?? 0 },
    pair: { prefix: pPrefix, middle: pMiddle, suffix: pSuffix, typeIdA: pair.partTypeIds[0] ?? 0, typeIdB: pair.partTypeIds[1] ?? 0 },
  }
}
