// English-like vocabulary for synthetic tokenizers: a fixed list of frequent words and
// suffixes, then seeded pseudo-words and word pieces built from syllables, so ordinary
// English text splits into plausible tokens instead of letters and unknowns.

import type { SeededRandom } from "./random.ts"

/** Frequent English words, most of any sentence a test is likely to write. */
export const frequentWords: readonly string[] = (
  "the of and to in a is that for it as was with be by on not he this are or his from at " +
  "which but have an had they you were their one all we can her has there been if more when " +
  "will would who so no she other its may these what them than some him time into only do " +
  "could new about two over then first any like my our also after way most made out up said " +
  "many where years such us should very through just use used how because each well between " +
  "before under both even must while same work long those never great world still day old " +
  "people here life part being good year down last know see make get go take come think " +
  "find give tell become show leave feel put bring begin keep hold write stand hear let mean " +
  "set meet run pay sit speak lie lead read grow lose fall send build stay reach cat dog " +
  "house water city home school book word light night hand small large place right left " +
  "number system group problem fact point question model data text sentence search query " +
  "passage document answer language learning network machine weather today tomorrow sun " +
  "rain happy quick brown fox jumps lazy red blue green white black food music game play " +
  "car road tree river mountain sea sky computer phone paper story power money market price"
).split(" ")

/** Suffix pieces that attach to many stems. */
export const frequentSuffixes: readonly string[] = [
  "s", "es", "ed", "ing", "ly", "er", "ers", "est", "ion", "tion", "ment", "ness", "able",
  "al", "ic", "ous", "ive", "ity", "ize", "ful", "less", "en", "y", "d", "n", "t",
]

const onsets = [
  "", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
  "y", "z", "br", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "sc", "sh", "sl",
  "sp", "st", "str", "th", "tr", "wh", "ch", "qu",
]
const nuclei = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ea", "ee", "ie", "oo", "ou", "y"]
const codas = [
  "", "", "", "b", "d", "g", "k", "l", "m", "n", "p", "r", "s", "t", "x", "ck", "ld", "nd",
  "ng", "nt", "rd", "rk", "rt", "st", "sh", "th", "ll", "ss",
]

const syllable = (random: SeededRandom): string =>
  random.pick(onsets) + random.pick(nuclei) + random.pick(codas)

/** A pronounceable pseudo-word of 1–3 syllables. */
export const pseudoWord = (random: SeededRandom): string => {
  const syllables = 1 + random.int(3)
  let word = ""
  for (let i = 0; i < syllables; i++) word += syllable(random)
  return word
}

/** A word-internal fragment of 2–4 letters (the part after a stem). */
export const pseudoFragment = (random: SeededRandom): string => {
  const fragment = random.pick(nuclei) + random.pick(codas) + (random.uniform() < 0.4 ? random.pick(onsets) : "")
  return fragment.length >= 2 ? fragment.slice(0, 4) : fragment + random.pick(codas.slice(3))
}

/** Printable ASCII except space, in code order. */
export const printableAscii = (): string[] => {
  const chars: string[] = []
  for (let code = 0x21; code <= 0x7e; code++) chars.push(String.fromCharCode(code))
  return chars
}

const cjkBlockStart = 0x4e00
const cjkBlockSize = 0x9fff - 0x4e00 + 1

/** `count` CJK unified ideographs spread evenly over the block, so Chinese text is not all unknowns. */
export const cjkCharacters = (count: number): string[] => {
  const n = Math.min(count, cjkBlockSize)
  const chars: string[] = []
  for (let i = 0; i < n; i++) chars.push(String.fromCharCode(cjkBlockStart + Math.floor((i * cjkBlockSize) / n)))
  return chars
}
