// Tensor names (safetensors header keys, state-dict keys, torch storage keys) are used as paths by
// other tools (per-tensor dumps, storage entries), so the rules for zip entry names apply to them:
// a name that is absolute or has a `..` segment is refused rather than skipped or trusted.
import { unsafeEntryNameReason } from "../zip/index.ts"
import { CheckpointError } from "./errors.ts"

/** Throws CheckpointError("InvalidTensor") naming `file` and the tensor when `name` is path-unsafe. */
export const checkTensorName = (file: string, name: string): void => {
  const unsafe = unsafeEntryNameReason(name)
  if (unsafe !== undefined) throw new CheckpointError("InvalidTensor", file, `${unsafe}; refusing a checkpoint with such a tensor name`, { tensor: name })
}

/** The same rule for a torch storage key, which names an archive entry `<archive>/data/<key>`. */
export const checkStorageKey = (file: string, tensor: string, key: string): void => {
  const unsafe = unsafeEntryNameReason(key)
  if (unsafe !== undefined) throw new CheckpointError("InvalidTensor", file, `storage key ${JSON.stringify(key)}: ${unsafe}; refusing a checkpoint with such a key`, { tensor })
}
