// Public surface of the checkpoint library: Hugging Face config and weight readers/writers.

// Model folders and config.json
export { parseConfigFields, readConfigJson } from "./config.ts"
export { checkConfigAgainstWeights, type ConfigSizes } from "./config-vs-weights.ts"
export { type Checkpoint, openCheckpoint, type WeightsFormat } from "./open.ts"
export { CheckpointError, type CheckpointErrorReason, PickleError, PickleSecurityError } from "./errors.ts"

// Readers (lazy tensors)
export { MAX_SAFETENSORS_HEADER_BYTES, readSafetensors, readShardedSafetensors, type SafetensorsFile } from "./safetensors.ts"
export { readShardedIndex, type TensorCollection } from "./sharded-index.ts"
export { gatherStrided, readTorchStateDict } from "./torch.ts"
export { isAllowedGlobal, type PickleValue, type StorageRef, type TensorRef, unpickleTorch } from "./pickle.ts"

// Writers (for synthetic checkpoints)
export type { TensorSource, WritableDType } from "./tensor-source.ts"
export { type SafetensorsWriteOptions, writeSafetensors } from "./safetensors-writer.ts"
export { contiguousStrides, type TorchWriteOptions, torchStateDictPickle, writeTorchStateDict } from "./torch-writer.ts"

// Element conversions (the float16/bfloat16 bit conversions themselves live in src/tensor)
export { decodeToFloat32, encodeFloat32As } from "./float-codec.ts"
