// Weights held in memory, wrapped as the LazyTensor map a checkpoint reader hands out, for
// hand-built test models and for synthesized weights that never touch the disk.

import { elementCount, type LazyTensor } from "../tensor/index.ts"
import { ReferenceForwardError } from "./errors.ts"

export interface InMemoryTensor {
  readonly shape: readonly number[]
  readonly values: ArrayLike<number>
}

export const inMemoryWeights = (tensors: Readonly<Record<string, InMemoryTensor>> | ReadonlyMap<string, InMemoryTensor>): Map<string, LazyTensor> => {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)
  return new Map(
    entries.map(([name, { shape, values }]) => {
      if (values.length !== elementCount(shape)) {
        throw new ReferenceForwardError("WeightShape", `in-memory tensor "${name}" has ${values.length} values, shape [${shape.join(", ")}] needs ${elementCount(shape)}`)
      }
      const data = Float32Array.from(values)
      const tensor: LazyTensor = { name, dtype: "float32", shape: [...shape], readFloat32: () => data.slice() }
      return [name, tensor] as const
    }),
  )
}
