// Proves ties round to even in both directions and everything else rounds to nearest.

import { expect, test } from "bun:test"
import { roundHalfToEven } from "./round.ts"

test("ties go to the even neighbour, positive and negative", () => {
  const cases: [number, number][] = [
    [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4], [126.5, 126], [127.5, 128], [-127.5, -128],
  ]
  for (const [x, want] of cases) expect([x, roundHalfToEven(x)]).toEqual([x, want])
})

test("non-ties round to the nearest integer and never return -0", () => {
  const cases: [number, number][] = [[0.49999997, 0], [0.50000006, 1], [-0.50000006, -1], [2.4, 2], [-2.6, -3], [-0.2, 0], [7, 7]]
  for (const [x, want] of cases) expect(Object.is(roundHalfToEven(x), want)).toBe(true)
})
