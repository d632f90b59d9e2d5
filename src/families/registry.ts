// The one registry of model families and the lookups export, synth, tokenize and the tests use:
// by config.json's model_type (or, when a config lacks it, its architectures), or by name.
import { CheckpointError, type Checkpoint, checkConfigAgainstWeights, openCheckpoint, readConfigJson } from "../checkpoint/index.ts"
import type { FamilyConfig, ModelFamily } from "./family.ts"
import * as registered from "./registered.ts"

/** The registered families, in a stable (alphabetical by export name) order. */
export const families: readonly ModelFamily[] = Object.values(registered) as readonly ModelFamily[]

/** Family names (kiln.json's `family`, synth's `--arch`), sorted. */
export const familyNames = (): string[] => families.map((f) => f.name).sort()

export const familyNamed = (name: string): ModelFamily | undefined => families.find((f) => f.name === name)

const modelTypes = (): string => families.flatMap((f) => f.modelTypes).sort().map((t) => JSON.stringify(t)).join(", ")

/** A config.json resolved to its family and parsed by it. */
export interface ResolvedModel<C extends FamilyConfig = FamilyConfig> {
  readonly family: ModelFamily<C>
  readonly config: C
}

/**
 * The family of a parsed config.json (read from `file`) and the config it parses to. A
 * model_type no family reads, or a config with neither model_type nor a known architecture, is a
 * CheckpointError naming the file and the field.
 */
export const resolveFamily = (json: Readonly<Record<string, unknown>>, file: string): ResolvedModel => {
  const modelType = json.model_type
  let family: ModelFamily | undefined
  if (modelType === undefined) {
    const architectures = Array.isArray(json.architectures) ? json.architectures : []
    family = families.find((f) => architectures.some((a) => f.architectures.includes(a)))
    if (family === undefined) {
      throw new CheckpointError("InvalidConfig", file, `field "model_type" is missing (expected one of ${modelTypes()})`, { field: "model_type" })
    }
  } else {
    family = families.find((f) => f.modelTypes.includes(modelType as string))
    if (family === undefined) {
      throw new CheckpointError("UnsupportedModelType", file, `model_type ${JSON.stringify(modelType)} is not supported; kiln reads ${modelTypes()}`, { field: "model_type" })
    }
  }
  return { family, config: family.parseConfig(json, file) }
}

/** A checkpoint folder opened with its family and parsed config. */
export interface ModelCheckpoint extends Checkpoint, ResolvedModel {}

/**
 * Opens the checkpoint in `dir` with its family. config.json is parsed before any weights are
 * opened, and its sizes are checked against the weights before anything is built from them.
 */
export const openModel = (dir: string): ModelCheckpoint => {
  const { file, json } = readConfigJson(dir)
  const resolved = resolveFamily(json, file)
  const checkpoint = openCheckpoint(dir)
  try {
    checkConfigAgainstWeights(resolved.config, checkpoint.tensors, file)
  } catch (error) {
    checkpoint.close()
    throw error
  }
  return { ...checkpoint, ...resolved }
}
