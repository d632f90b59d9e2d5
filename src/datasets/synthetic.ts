// Seeded synthetic evaluation data for offline examples and tests: STS-style sentence pairs whose
// gold score falls as more words of the second sentence are replaced, and reranking queries whose
// positives share the query's words. Not a benchmark of quality — a fixture with real structure.
import { frequentWords } from "../seeded/words.ts"
import { SeededRandom } from "../seeded/random.ts"
import type { RerankQuery } from "./reranking.ts"
import type { StsPair } from "./sts.ts"

const sentence = (rng: SeededRandom, length: number): string[] => Array.from({ length }, () => frequentWords[rng.int(frequentWords.length)]!)

export const syntheticStsPairs = (count: number, seed: number): StsPair[] => {
  const rng = new SeededRandom(seed)
  return Array.from({ length: count }, () => {
    const length = 6 + rng.int(10)
    const first = sentence(rng, length)
    const replaced = rng.int(length + 1)
    const second = [...first]
    // Partial Fisher-Yates: the first `replaced` positions of a shuffled index list.
    const positions = Array.from({ length }, (_, i) => i)
    for (let i = 0; i < replaced; i++) {
      const j = i + rng.int(length - i)
      ;[positions[i], positions[j]] = [positions[j]!, positions[i]!]
      second[positions[i]!] = frequentWords[rng.int(frequentWords.length)]!
    }
    return { sentence1: first.join(" "), sentence2: second.join(" "), score: Math.round((5 * (length - replaced)) / length * 100) / 100 }
  })
}

export const syntheticRerankQueries = (count: number, seed: number, negatives = 7): RerankQuery[] => {
  const rng = new SeededRandom(seed)
  return Array.from({ length: count }, () => {
    const query = sentence(rng, 3 + rng.int(3))
    const positive = [...sentence(rng, 4), ...query, ...sentence(rng, 6)].join(" ")
    return { query: query.join(" "), positives: [positive], negatives: Array.from({ length: negatives }, () => sentence(rng, 12 + rng.int(6)).join(" ")) }
  })
}
