// Public surface of the numpy module: .npy arrays (and .npz archives) as kiln reads and writes them.

export { dtypeSpecs, npyDTypes, type NpyArray, type NpyData, type NpyDataOf, type NpyDType } from "./dtype.ts"
export { NpyError, type NpyErrorReason, type NpySource } from "./npy-error.ts"
export { decodeNpy, encodeNpy, validateNpyArray } from "./npy.ts"
export { NpzReader, readNpz, writeNpz } from "./npz.ts"
export { findNumpyPython, runPython } from "./find-numpy-python.ts"
