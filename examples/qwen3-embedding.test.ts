// The Qwen3-Embedding example end to end on a synthetic checkpoint: export → compile → deploy →
// evaluate and fidelity pass; the deployed bundle, loaded with the Embedder, gives the float64
// reference's last-token embeddings (max |diff| ≤ 1e-4) and prepends Qwen3-Embedding's query
// instruction to queries only; a second run is served from the cache.
import { afterAll, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { openModel, referenceForward } from "../src/families/index.ts"
import { qwen3QueryInstruction } from "../src/families/qwen3/index.ts"
import { Embedder } from "../src/runtime/index.ts"
import { batchRow } from "../src/tokenize/index.ts"
import { cleanup, runCaptured, tempDir } from "../tests/support.ts"
import { qwen3Embedding } from "./qwen3-embedding.ts"

const dir = tempDir()
afterAll(() => cleanup(dir))

test("qwen3-embedding: export → compile → deploy → evaluate, fidelity; the Embedder matches the float64 reference", async () => {
  const r = await runCaptured(qwen3Embedding, dir)
  expect(r.code).toBe(0)
  const output = (id: string) => r.json.steps.find((s) => s.id === id)!.outputs.out!.path
  const json = (id: string, file: string) => JSON.parse(readFileSync(join(output(id), file), "utf8"))
  expect(json("exportOnnx", "kiln.json")).toMatchObject({ family: "qwen3", pooling: "last", task: "embedding" })
  expect(json("evaluate", "eval.json").metrics.pairs).toBe(128)
  expect(json("fidelity", "eval.json").fidelity.cosine_mean).toBeGreaterThanOrEqual(0.9999)
  expect(json("deploy", "runtime.json").instruction).toBe(qwen3QueryInstruction())

  const texts = ["The cat sat on the mat.", "what is the capital of the city?", "rain"]
  const embedder = await Embedder.load(output("deploy"), { threads: 1 })
  const checkpoint = openModel(output("synthCheckpoint"))
  try {
    const passages = await embedder.embed(texts)
    // The bundle's own tokenizer (right-padded), fed to the reference.
    const tokens = embedder.bundle.tokenizer.encode(texts)
    const rows = (values: Int32Array) => texts.map((_, i) => batchRow(tokens, values, i))
    const expected = referenceForward(checkpoint.config, checkpoint.tensors, {}, { inputIds: rows(tokens.inputIds), attentionMask: rows(tokens.attentionMask) }, "embedding")
    let worst = 0
    passages.dense.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected.last.data[i]!))))
    expect(worst).toBeLessThanOrEqual(1e-4)
    const query = await embedder.embed([texts[1]!], { input: "query" })
    const spelledOut = await embedder.embed([qwen3QueryInstruction() + texts[1]!])
    expect(Array.from(query.dense.data)).toEqual(Array.from(spelledOut.dense.data))
    expect(Array.from(query.dense.data)).not.toEqual(Array.from(passages.dense.data.slice(32, 64)))
  } finally {
    checkpoint.close()
    await embedder.close()
  }

  const again = await runCaptured(qwen3Embedding, dir)
  expect(again.code).toBe(0)
  expect(Object.values(again.status).every((s) => s === "cached")).toBe(true)
}, 120_000)
