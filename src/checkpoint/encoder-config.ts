// The model hyper-parameters every library needs (exporter, reference forward, synthesizer),
// normalised from a Hugging Face config.json of model_type bert or xlm-roberta.

export type EncoderFamily = "bert" | "xlm-roberta"

export interface EncoderConfig {
  readonly modelType: EncoderFamily
  readonly hiddenSize: number
  readonly numLayers: number
  readonly numHeads: number
  readonly intermediateSize: number
  readonly vocabSize: number
  readonly maxPositions: number
  /** 1 for XLM-R (token type ids carry no information), 2 for BERT. */
  readonly typeVocabSize: number
  readonly layerNormEps: number
  readonly padTokenId: number
  /** "gelu" (erf form) for every BGE model. */
  readonly hiddenAct: "gelu" | "gelu_new" | "relu"
  /** Sequence-classification labels (1 for BGE rerankers); 0 when the config has no classifier. */
  readonly numLabels: number
  /** Original config.json, kept so exports can copy it verbatim. */
  readonly raw: Readonly<Record<string, unknown>>
}
