// Public surface of the numpy module: .npy arrays (and .npz archives) as kiln reads and writes them.

export { dtypeSpecs, npyDTypes, type NpyArray, type NpyData, type NpyDataOf, type NpyDType } from "./dtype.ts"
export { NpyError, type NpyErrorReason, type NpySource } from "./npy-error.ts"
export { decodeNpy, encodeNpy } from "./npy.ts"
