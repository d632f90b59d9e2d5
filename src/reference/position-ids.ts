// Position ids as Hugging Face computes them: BERT counts 0..L-1; XLM-R counts real tokens
// from padding_idx + 1 and gives padding tokens padding_idx itself.

/** BertEmbeddings: the registered arange buffer, independent of padding. */
export const bertPositionIds = (length: number): number[] => Array.from({ length }, (_, i) => i)

/**
 * create_position_ids_from_input_ids: padId + cumsum(ids ≠ padId) · (ids ≠ padId). It looks at
 * the ids, not the attention mask, so a pad id inside the text also gets position padId.
 */
export const xlmRobertaPositionIds = (inputIds: readonly number[], padId: number): number[] => {
  let count = 0
  return inputIds.map((id) => {
    if (id === padId) return padId
    count += 1
    return padId + count
  })
}
