// The XLM-RoBERTa family (bge-m3, bge-reranker-base / -v2-m3): a BERT-style encoder with
// XLM-RoBERTa's variant.
import { encoderFamily } from "../encoder/family.ts"
import { xlmRobertaVariant } from "./variant.ts"

export const xlmRoberta = encoderFamily(xlmRobertaVariant)
export { xlmRobertaVariant }
