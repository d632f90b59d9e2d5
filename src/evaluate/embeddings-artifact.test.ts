// Reading an embeddings folder that is not what the embed step wrote: each failure names the file
// and the field or array at fault; a round trip gives back the same set.
import { expect, test } from "bun:test"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { encodeNpy } from "../numpy/index.ts"
import { freshDirsPerTest } from "../../tests/support.ts"
import type { EmbeddingSet } from "./embedding-set.ts"
import { readEmbeddings, writeEmbeddings } from "./embeddings-artifact.ts"

const dir = freshDirsPerTest()
const set: EmbeddingSet = { task: "embedder", input: "passage", texts: ["a", "b", "c"], dense: { shape: [3, 2], data: Float32Array.from([1, 0, 0, 1, 0.6, 0.8]) } }
const written = async () => {
  const d = dir()
  await writeEmbeddings(d, set)
  return d
}
const editManifest = (d: string, edit: (m: Record<string, unknown>) => void) => {
  const m = JSON.parse(readFileSync(join(d, "embeddings.json"), "utf8"))
  edit(m)
  writeFileSync(join(d, "embeddings.json"), JSON.stringify(m))
}

test("a written set reads back equal", async () => {
  expect(readEmbeddings(await written())).toEqual(set)
})

test("a manifest with a wrong field names the file and the field", async () => {
  const d = await written()
  editManifest(d, (m) => (m.input = "document"))
  expect(() => readEmbeddings(d)).toThrow(/embeddings\.json: .*input/)
})

test("rows that disagree with texts, or a repeated text, are named", async () => {
  const d = await written()
  editManifest(d, (m) => (m.rows = 4))
  expect(() => readEmbeddings(d)).toThrow("rows is 4 but texts has 3 entries")
  editManifest(d, (m) => {
    m.rows = 3
    m.texts = ["a", "a", "c"]
  })
  expect(() => readEmbeddings(d)).toThrow("texts repeats a text")
})

test("dense.npy of the wrong shape or dtype, or missing, names the file and what was expected", async () => {
  const d = await written()
  writeFileSync(join(d, "dense.npy"), encodeNpy({ dtype: "float32", shape: [2, 2], data: new Float32Array(4) }))
  expect(() => readEmbeddings(d)).toThrow(/dense\.npy: holds float32 \[2, 2\], expected float32 \[3, 2\]/)
  writeFileSync(join(d, "dense.npy"), encodeNpy({ dtype: "float64", shape: [3, 2], data: new Float64Array(6) }))
  expect(() => readEmbeddings(d)).toThrow(/dense\.npy: holds float64 \[3, 2\], expected float32/)
  rmSync(join(d, "dense.npy"))
  expect(() => readEmbeddings(d)).toThrow(/dense\.npy: cannot read it \(ENOENT\); the embeddings folder is incomplete — re-run its embed step/)
})

test("a reranker's pairs naming rows beyond the texts are named", async () => {
  const d = dir()
  await writeEmbeddings(d, { task: "reranker", input: "passage", texts: ["q", "p"], pairs: [[0, 1]], scores: Float32Array.from([0.5]) })
  editManifest(d, (m) => (m.pairs = [[0, 2]]))
  expect(() => readEmbeddings(d)).toThrow("pairs[0] names a row beyond the 2 texts")
})
