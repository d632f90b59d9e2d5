// What makes BERT BERT among the BERT-style encoders: positions 0..L-1, two token types, the
// `bert.` prefix of BertForSequenceClassification, pad id 0, WordPiece with [CLS] … [SEP].
import type { EncoderVariant } from "../encoder/variant.ts"
import { bertGraphPositionIds, bertPositionIds } from "./position-ids.ts"

export const bertVariant: EncoderVariant = {
  name: "bert",
  className: "Bert",
  weightPrefixes: ["bert.", "roberta."],
  padTokenDefault: 0,
  tasks: ["embedding", "reranker"],
  positionOffset: () => 0,
  positionIds: (inputIds) => bertPositionIds(inputIds.length),
  graphPositionIds: (ctx, _config, inputIds) => bertGraphPositionIds(ctx, inputIds),
  synth: {
    sizes: ["tiny", "bge-small", "bge-small-zh", "bge-base", "bge-large"],
    vocabSize: 30522,
    typeVocabSize: 2,
    layerNormEps: 1e-12,
    maxPositions: (maxTokens) => maxTokens,
    tokenizerKind: "wordpiece",
    specialTokens: { pad: "[PAD]", cls: "[CLS]", sep: "[SEP]" },
    defaultIds: { pad: 0, cls: 101, sep: 102 },
    configFields: () => ({ gradient_checkpointing: false }),
    labelsOnBaseConfig: true,
    zeroPaddingRows: false,
    classifier: { prefix: "bert.", robertaHead: false },
  },
}
