// Proves XLM-R position ids follow Hugging Face: real tokens count from padding_idx + 1, pads sit at padding_idx.

import { expect, test } from "bun:test"
import { xlmRobertaPositionIds } from "./position-ids.ts"

test("XLM-R positions of a right-padded row: padding_idx + 1 + i for real tokens, padding_idx for pads", () => {
  // <s> a b </s> <pad> <pad> with padding_idx 1
  expect(xlmRobertaPositionIds([0, 17, 18, 2, 1, 1], 1)).toEqual([2, 3, 4, 5, 1, 1])
})

test("XLM-R positions of a left-padded row start at padding_idx + 1 at the first real token", () => {
  expect(xlmRobertaPositionIds([1, 1, 0, 17, 2], 1)).toEqual([1, 1, 2, 3, 4])
})
