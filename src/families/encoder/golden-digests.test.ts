// Pins the bytes of synthetic BERT / XLM-R checkpoints and of their exports to the digests
// recorded before the families moved behind the registry (issue 17 §2): the move, and any later
// change to the seam, must not change one output byte of these families. A deliberate change to
// what they emit updates this table in the same commit, saying why.
import { afterAll, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { exportEncoder } from "../../export/index.ts"
import { synthesizeCheckpoint } from "../../synth/index.ts"

const root = mkdtempSync(join(tmpdir(), "kiln-golden-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** First 16 hex digits of a file's sha256. */
const digest = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16)

const cases = [
  { arch: "bert", task: "embedding", options: {}, weights: "model.safetensors", digests: { weights: "7989e034a18366ff", model: "da8223394edd2bc3", manifest: "4cca14b7786e8818" } },
  { arch: "bert", task: "embedding", options: { dtype: "fp16", seqlen: 16 }, weights: "model.safetensors", digests: { weights: "7989e034a18366ff", model: "e65c45cd9243ccfd", manifest: "5607bd7dbbf793f5" } },
  { arch: "bert", task: "reranker", options: {}, weights: "model.safetensors", digests: { weights: "cbbe567d83154590", model: "7f77c4a95129ea06", manifest: "65c68375d641b2b1" } },
  { arch: "xlm-roberta", task: "embedding", options: {}, weights: "model.safetensors", digests: { weights: "27905082c8fec977", model: "5709da9e6e52b2cf", manifest: "ea026d4609267cec" } },
  { arch: "xlm-roberta", task: "reranker", options: {}, weights: "model.safetensors", digests: { weights: "63bd3eadf2ee9701", model: "35d8325a3106d18c", manifest: "b3b00e94bd52adbf" } },
  { arch: "xlm-roberta", task: "m3", options: {}, weights: "pytorch_model.bin", digests: { weights: "8e34a765f2848404", model: "d07ac85e3656f0a2", manifest: "abf69e2670810eec" } },
] as const

for (const c of cases) {
  test(`${c.arch} ${c.task} ${JSON.stringify(c.options)}: checkpoint and export bytes are unchanged`, async () => {
    const name = `${c.arch}-${c.task}-${Object.keys(c.options).join("-")}`
    const checkpoint = join(root, `ckpt-${name}`)
    await synthesizeCheckpoint({ arch: c.arch, size: "tiny", task: c.task, seed: 11, out: checkpoint, outliers: true })
    const result = await exportEncoder({ checkpointDir: checkpoint, outDir: join(root, `out-${name}`), task: c.task, ...c.options })
    expect({
      weights: digest(join(checkpoint, c.weights)),
      model: digest(result.modelPath),
      manifest: digest(join(result.outDir, "kiln.json")),
    }).toEqual(c.digests)
  }, 30_000)
}
