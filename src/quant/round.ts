// Round-half-to-even, the rounding ONNX QuantizeLinear specifies (and numpy.round uses): ties go to
// the even neighbour so quantization error does not drift in one direction.

/** Rounds to the nearest integer, ties to even: 0.5 → 0, 1.5 → 2, -2.5 → -2. */
export const roundHalfToEven = (x: number): number => {
  const r = Math.round(x)
  // Math.round sends ties toward +∞, so a tie shows up as r - x === 0.5 exactly.
  // "+ 0" turns -0 (from Math.round(-0.4)) into 0, so callers never see a signed zero.
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0
}
