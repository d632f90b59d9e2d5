// Parses a Hugging Face config.json of model_type "bert" or "xlm-roberta" into EncoderConfig.
// Fields that fix tensor shapes are required (a wrong default would build a wrong model);
// the rest take Hugging Face's defaults for that model type.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import type { EncoderConfig, EncoderFamily } from "./encoder-config.ts"
import { CheckpointError } from "./errors.ts"

const positiveInt = z.int().positive()

/** Shared fields; `family` supplies the defaults that differ (pad_token_id). */
const encoderConfigSchema = (padTokenDefault: number) =>
  z.object({
    hidden_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    intermediate_size: positiveInt,
    vocab_size: positiveInt,
    max_position_embeddings: positiveInt,
    type_vocab_size: z.int().nonnegative().default(2),
    layer_norm_eps: z.number().positive().default(1e-12),
    pad_token_id: z.int().nonnegative().default(padTokenDefault),
    hidden_act: z.enum(["gelu", "gelu_new", "relu"]).default("gelu"),
    position_embedding_type: z.literal("absolute").default("absolute"),
    id2label: z.record(z.string(), z.string()).optional(),
    num_labels: z.int().nonnegative().optional(),
    architectures: z.array(z.string()).optional(),
  })

const schemas: Readonly<Record<EncoderFamily, ReturnType<typeof encoderConfigSchema>>> = {
  bert: encoderConfigSchema(0),
  "xlm-roberta": encoderConfigSchema(1),
}

/** What a zod issue expected, in words, for the fields this schema has. */
const expectation = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "int" ? "an integer" : `${/^[aeiou]/.test(issue.expected) ? "an" : "a"} ${issue.expected}`
    case "too_small":
      return issue.minimum === 0 && issue.inclusive === false ? "a positive number" : `a value ≥ ${String(issue.minimum)}`
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`
    default:
      return issue.message
  }
}

const valueAt = (json: Record<string, unknown>, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((value, key) => (typeof value === "object" && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined), json)

/**
 * Validates `json` (the parsed config.json read from `file`) and normalises it. Throws
 * CheckpointError naming the file and the field for an unsupported model_type or a bad field.
 */
export const parseEncoderConfig = (json: unknown, file: string): EncoderConfig => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new CheckpointError("InvalidConfig", file, "config.json must be a JSON object")
  }
  const raw = json as Record<string, unknown>
  const modelType = raw.model_type
  if (modelType !== "bert" && modelType !== "xlm-roberta") {
    throw new CheckpointError(
      modelType === undefined ? "InvalidConfig" : "UnsupportedModelType",
      file,
      modelType === undefined
        ? `field "model_type" is missing (expected "bert" or "xlm-roberta")`
        : `model_type ${JSON.stringify(modelType)} is not supported; kiln reads "bert" and "xlm-roberta" encoders`,
      { field: "model_type" },
    )
  }
  const parsed = schemas[modelType].safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.map(String).join(".")
    const value = valueAt(raw, issue.path)
    const got = value === undefined ? "it is missing" : `got ${JSON.stringify(value)}`
    throw new CheckpointError("InvalidConfig", file, `field "${field}" must be ${expectation(issue)}; ${got}`, { field })
  }
  const config = parsed.data
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new CheckpointError(
      "InvalidConfig",
      file,
      `field "hidden_size" (${config.hidden_size}) must be a multiple of num_attention_heads (${config.num_attention_heads})`,
      { field: "hidden_size" },
    )
  }
  // id2label is present on plain encoders too (bge-base has {"0": "LABEL_0"}); only a
  // sequence-classification architecture actually has the classifier head.
  const hasClassifier = (config.architectures ?? []).some((name) => name.endsWith("ForSequenceClassification"))
  const numLabels = hasClassifier
    ? config.id2label !== undefined
      ? Object.keys(config.id2label).length
      : (config.num_labels ?? 2)
    : 0
  return {
    modelType,
    hiddenSize: config.hidden_size,
    numLayers: config.num_hidden_layers,
    numHeads: config.num_attention_heads,
    intermediateSize: config.intermediate_size,
    vocabSize: config.vocab_size,
    maxPositions: config.max_position_embeddings,
    typeVocabSize: config.type_vocab_size,
    layerNormEps: config.layer_norm_eps,
    padTokenId: config.pad_token_id,
    hiddenAct: config.hidden_act,
    numLabels,
    raw,
  }
}

/** Reads and parses `<dir>/config.json`. */
export const readEncoderConfig = (dir: string): EncoderConfig => {
  const file = join(dir, "config.json")
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (error) {
    throw new CheckpointError("NotFound", file, `cannot read the model config (${(error as Error).message})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new CheckpointError("InvalidConfig", file, `not valid JSON (${(error as Error).message})`)
  }
  return parseEncoderConfig(json, file)
}
