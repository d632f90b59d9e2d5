// What makes XLM-RoBERTa differ from BERT: positions counted from padding_idx + 1 (so two rows of
// the table are never used by text), one token type, pad id 1, the `roberta.` prefix and
// RobertaClassificationHead of XLMRobertaForSequenceClassification (no pooler), padding rows of the
// embedding tables at zero, Unigram with <s> … </s>, and bge-m3's layout (task m3).
import type { EncoderVariant } from "../encoder/variant.ts"
import { xlmRobertaGraphPositionIds, xlmRobertaPositionIds } from "./position-ids.ts"

export const xlmRobertaVariant: EncoderVariant = {
  name: "xlm-roberta",
  className: "XLMRoberta",
  weightPrefixes: ["roberta.", "bert."],
  padTokenDefault: 1,
  tasks: ["embedding", "reranker", "m3"],
  positionOffset: (padTokenId) => padTokenId + 1,
  positionIds: xlmRobertaPositionIds,
  graphPositionIds: (ctx, config, inputIds) => xlmRobertaGraphPositionIds(ctx, inputIds, config.padTokenId),
  synth: {
    sizes: ["tiny", "bge-small", "bge-base", "bge-large", "bge-reranker-base", "bge-m3"],
    vocabSize: 250002,
    typeVocabSize: 1,
    layerNormEps: 1e-5,
    maxPositions: (maxTokens) => maxTokens + 2,
    tokenizerKind: "unigram",
    specialTokens: { pad: "<pad>", cls: "<s>", sep: "</s>" },
    defaultIds: { pad: 1, cls: 0, sep: 2 },
    configFields: (ids) => ({ bos_token_id: ids.cls, eos_token_id: ids.sep, output_past: true }),
    labelsOnBaseConfig: false,
    zeroPaddingRows: true,
    classifier: { prefix: "roberta.", robertaHead: true },
  },
}
