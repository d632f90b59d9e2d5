// Proves BERT position ids follow Hugging Face: 0..L-1 whatever the padding.

import { expect, test } from "bun:test"
import { bertPositionIds } from "./position-ids.ts"

test("BERT positions are 0..L-1 whatever the padding", () => {
  expect(bertPositionIds(4)).toEqual([0, 1, 2, 3])
})
