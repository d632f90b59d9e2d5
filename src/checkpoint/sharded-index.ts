// Sharded checkpoints (`*.index.json` with a weight_map of tensor → shard file), for safetensors
// and pytorch_model.bin alike: each shard is opened once, only by a plain file name beside the index.
import { dirname, join } from "node:path"
import { z } from "zod"
import { readJsonFile } from "../schema/index.ts"
import type { LazyTensor } from "../tensor/index.ts"
import { CheckpointError } from "./errors.ts"

export interface TensorCollection {
  readonly tensors: ReadonlyMap<string, LazyTensor>
  /** Releases the file handles; reading a tensor afterwards throws CheckpointError("Closed"). */
  close(): void
}

const indexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
})

/** Opens the shards an index names with `openShard`; tensors appear in weight_map order. */
export const readShardedIndex = (indexPath: string, openShard: (path: string) => TensorCollection): TensorCollection => {
  const index = readJsonFile(indexPath, indexSchema, "the shard index", (error) =>
    new CheckpointError(error.problem === "unreadable" ? "NotFound" : "InvalidHeader", indexPath, error.detail),
  )
  const shards = new Map<string, TensorCollection>()
  const closeAll = (): void => {
    for (const shard of shards.values()) shard.close()
  }
  try {
    const tensors = new Map<string, LazyTensor>()
    for (const [name, shardName] of Object.entries(index.weight_map)) {
      // A path here could point anywhere on the machine; shards must sit beside the index.
      if (shardName.length === 0 || /[/\\]/.test(shardName) || shardName === "." || shardName === "..") {
        throw new CheckpointError("InvalidHeader", indexPath, `shard "${shardName}" must be a file name beside the index`, { tensor: name })
      }
      let shard = shards.get(shardName)
      if (shard === undefined) {
        shard = openShard(join(dirname(indexPath), shardName))
        shards.set(shardName, shard)
      }
      const tensor = shard.tensors.get(name)
      if (tensor === undefined) {
        throw new CheckpointError("InvalidHeader", indexPath, `the index places this tensor in "${shardName}" but that shard lacks it`, {
          tensor: name,
        })
      }
      tensors.set(name, tensor)
    }
    return { tensors, close: closeAll }
  } catch (error) {
    closeAll()
    throw error
  }
}
