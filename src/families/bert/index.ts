// The BERT family (BGE English and Chinese models: bge-small/base/large-*-v1.5, bge-reranker-base's
// BERT cousins): a BERT-style encoder with BERT's variant.
import { encoderFamily } from "../encoder/family.ts"
import { bertVariant } from "./variant.ts"

export const bert = encoderFamily(bertVariant)
export { bertVariant }
