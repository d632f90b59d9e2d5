// The embeddings artifact on disk, what the embed step writes and evaluate / fidelity / the report
// read: embeddings.json (the manifest and the text → row index: row r is texts[r]) beside float32
// .npy arrays —
//   embedder: dense.npy [rows, dim]; bge-m3 when asked: sparse.indptr.npy, sparse.indices.npy,
//             sparse.values.npy (CSR lexical weights), colbert.offsets.npy, colbert.vectors.npy
//   reranker: scores.npy [pairs], the score of (texts[pairs[i][0]], texts[pairs[i][1]])
// Everything read is checked: the manifest by zod, each array's dtype and shape against it.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { decodeNpy, encodeNpy, type NpyArray } from "../numpy/index.ts"
import { readJsonFile } from "../schema/index.ts"
import type { EmbeddingSet } from "./embedding-set.ts"

export const embeddingsManifestFile = "embeddings.json"
export const embeddingsFormat = "kiln-embeddings/1"

const files = {
  dense: "dense.npy",
  scores: "scores.npy",
  sparseIndptr: "sparse.indptr.npy",
  sparseIndices: "sparse.indices.npy",
  sparseValues: "sparse.values.npy",
  colbertOffsets: "colbert.offsets.npy",
  colbertVectors: "colbert.vectors.npy",
} as const

export const EmbeddingsManifest = z.strictObject({
  format: z.literal(embeddingsFormat),
  task: z.enum(["embedder", "reranker"]),
  /** "query": the deployment's query instruction was prepended; "passage": texts as they are. */
  input: z.enum(["query", "passage"]),
  rows: z.number().int().positive(),
  /** Width of dense.npy (embedders). */
  dim: z.number().int().positive().optional(),
  texts: z.array(z.string()).min(1),
  /** Rerankers: the scored pairs as rows of `texts`. */
  pairs: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])).optional(),
  sparse: z.boolean().default(false),
  colbert: z.boolean().default(false),
})
export type EmbeddingsManifest = z.output<typeof EmbeddingsManifest>

export class EmbeddingsArtifactError extends Error {
  override readonly name = "EmbeddingsArtifactError"
}

/** Writes `set` into `dir` (an empty output folder). Same set, same bytes. */
export const writeEmbeddings = async (dir: string, set: EmbeddingSet): Promise<void> => {
  const write = (file: string, array: NpyArray) => Bun.write(join(dir, file), encodeNpy(array, { file }))
  const manifest: EmbeddingsManifest = {
    format: embeddingsFormat,
    task: set.task,
    input: set.input,
    rows: set.texts.length,
    ...(set.task === "embedder" ? { dim: set.dense.shape[1]! } : {}),
    texts: [...set.texts],
    ...(set.task === "reranker" ? { pairs: set.pairs.map(([a, b]) => [a, b] as [number, number]) } : {}),
    sparse: set.task === "embedder" && set.sparse !== undefined,
    colbert: set.task === "embedder" && set.colbert !== undefined,
  }
  if (set.task === "reranker") {
    await write(files.scores, { dtype: "float32", shape: [set.scores.length], data: set.scores })
  } else {
    await write(files.dense, { dtype: "float32", shape: set.dense.shape, data: set.dense.data })
    if (set.sparse !== undefined) {
      await write(files.sparseIndptr, { dtype: "int32", shape: [set.sparse.indptr.length], data: set.sparse.indptr })
      await write(files.sparseIndices, { dtype: "int32", shape: [set.sparse.indices.length], data: set.sparse.indices })
      await write(files.sparseValues, { dtype: "float32", shape: [set.sparse.values.length], data: set.sparse.values })
    }
    if (set.colbert !== undefined) {
      await write(files.colbertOffsets, { dtype: "int32", shape: [set.colbert.offsets.length], data: set.colbert.offsets })
      await write(files.colbertVectors, { dtype: "float32", shape: set.colbert.vectors.shape, data: set.colbert.vectors.data })
    }
  }
  // The manifest last: a folder with a manifest has all its arrays.
  await Bun.write(join(dir, embeddingsManifestFile), JSON.stringify(manifest, null, 1) + "\n")
}

const readArray = <D extends NpyArray["dtype"]>(dir: string, file: string, dtype: D, shape: (readonly [number, number | undefined]) | readonly [number]): Extract<NpyArray, { dtype: D }> => {
  const path = join(dir, file)
  let bytes: Uint8Array
  try {
    bytes = readFileSync(path)
  } catch (cause) {
    throw new EmbeddingsArtifactError(`${path}: cannot read it (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); the embeddings folder is incomplete — re-run its embed step`, { cause })
  }
  const array = decodeNpy(bytes, { file: path })
  const expected = `${dtype} [${shape.map((d) => d ?? "any").join(", ")}]`
  const fits = array.dtype === dtype && array.shape.length === shape.length && shape.every((d, i) => d === undefined || array.shape[i] === d)
  if (!fits) throw new EmbeddingsArtifactError(`${path}: holds ${array.dtype} [${array.shape.join(", ")}], expected ${expected} as ${embeddingsManifestFile} says`)
  return array as Extract<NpyArray, { dtype: D }>
}

const checkOffsets = (path: string, offsets: Int32Array, rows: number, total: number) => {
  if (offsets[0] !== 0 || offsets[rows] !== total || offsets.some((v, i) => i > 0 && v < offsets[i - 1]!)) {
    throw new EmbeddingsArtifactError(`${path}: offsets must rise from 0 to ${total}`)
  }
}

/** Reads an embeddings folder written by `writeEmbeddings`, failing with the file and field at fault. */
export const readEmbeddings = (dir: string): EmbeddingSet => {
  const manifestPath = join(dir, embeddingsManifestFile)
  const m = readJsonFile(manifestPath, EmbeddingsManifest, "the embeddings manifest", (e) => new EmbeddingsArtifactError(e.message, { cause: e }))
  if (m.texts.length !== m.rows) throw new EmbeddingsArtifactError(`${manifestPath}: rows is ${m.rows} but texts has ${m.texts.length} entries`)
  if (new Set(m.texts).size !== m.texts.length) throw new EmbeddingsArtifactError(`${manifestPath}: texts repeats a text; each text has one row`)
  const common = { texts: m.texts, input: m.input }
  if (m.task === "reranker") {
    if (m.pairs === undefined) throw new EmbeddingsArtifactError(`${manifestPath}: pairs is missing; a reranker's embeddings list the pairs it scored`)
    const bad = m.pairs.findIndex(([a, b]) => a >= m.rows || b >= m.rows)
    if (bad >= 0) throw new EmbeddingsArtifactError(`${manifestPath}: pairs[${bad}] names a row beyond the ${m.rows} texts`)
    const scores = readArray(dir, files.scores, "float32", [m.pairs.length]).data
    return { task: "reranker", ...common, pairs: m.pairs, scores }
  }
  if (m.dim === undefined) throw new EmbeddingsArtifactError(`${manifestPath}: dim is missing; an embedder's embeddings give the width of dense.npy`)
  const dense = readArray(dir, files.dense, "float32", [m.rows, m.dim])
  const set: EmbeddingSet & { task: "embedder" } = { task: "embedder", ...common, dense: { shape: dense.shape, data: dense.data } }
  let sparse
  if (m.sparse) {
    const indptr = readArray(dir, files.sparseIndptr, "int32", [m.rows + 1]).data
    const indices = readArray(dir, files.sparseIndices, "int32", [indptr[m.rows] ?? 0]).data
    checkOffsets(join(dir, files.sparseIndptr), indptr, m.rows, indices.length)
    sparse = { indptr, indices, values: readArray(dir, files.sparseValues, "float32", [indices.length]).data }
  }
  let colbert
  if (m.colbert) {
    const offsets = readArray(dir, files.colbertOffsets, "int32", [m.rows + 1]).data
    const vectors = readArray(dir, files.colbertVectors, "float32", [offsets[m.rows] ?? 0, m.dim])
    checkOffsets(join(dir, files.colbertOffsets), offsets, m.rows, vectors.shape[0]!)
    colbert = { offsets, vectors: { shape: vectors.shape, data: vectors.data } }
  }
  return { ...set, ...(sparse !== undefined ? { sparse } : {}), ...(colbert !== undefined ? { colbert } : {}) }
}
