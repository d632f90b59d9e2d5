// The same checkpoint and options give byte-identical output folders (what content-addressed
// caching relies on), with weights inline or in onnx/model.onnx_data, fp32 or fp16.
import { afterAll, expect, test } from "bun:test"
import { readdirSync, readFileSync, rmSync } from "node:fs"
import { join, relative } from "node:path"
import { readTorchStateDict, writeSafetensors } from "../checkpoint/index.ts"
import { exportEncoder } from "./export-encoder.ts"
import { floats, maxAbsDiff, openCheckpoint, paddedBatch, reference, runOnnx, scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("determinism")
afterAll(cleanup)

const filesOf = (root: string): Map<string, Buffer> => {
  const files = new Map<string, Buffer>()
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else files.set(relative(root, path), readFileSync(path))
    }
  }
  walk(root)
  return files
}

const expectSameFolders = (a: string, b: string): void => {
  const left = filesOf(a)
  const right = filesOf(b)
  expect([...right.keys()].sort()).toEqual([...left.keys()].sort())
  for (const [name, bytes] of left) expect({ name, same: bytes.equals(right.get(name)!) }).toEqual({ name, same: true })
}

test("two m3 exports with external data are byte-identical, and the data file is used", async () => {
  const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "m3")
  const first = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "a"), task: "m3", externalData: "always" })
  const second = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "b"), task: "m3", externalData: "always" })
  expect(first.manifest.externalData).toBe("onnx/model.onnx_data")
  expect([...filesOf(join(dir, "a")).keys()].sort()).toEqual([
    "config.json",
    "kiln.json",
    "onnx/model.onnx",
    "onnx/model.onnx_data",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
  ])
  expectSameFolders(join(dir, "a"), join(dir, "b"))
  expect(second.dataPath).toBeDefined()
  const checkpoint = openCheckpoint(ckpt)
  const batch = paddedBatch(checkpoint, 6)
  const expected = reference(checkpoint, batch, "m3")
  checkpoint.close()
  const outputs = await runOnnx(second.modelPath, batch)
  expect(maxAbsDiff(floats(outputs.dense_vecs), expected.dense.data)).toBeLessThanOrEqual(1e-5)
}, 30_000)

test("two fp16 BERT exports are byte-identical; a re-export over an external-data folder removes the stale data file", async () => {
  const ckpt = await tinyCheckpoint(dir, "bert", "embedding")
  await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "c"), task: "embedding", dtype: "fp16", externalData: "always" })
  await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "c"), task: "embedding", dtype: "fp16" })
  await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "d"), task: "embedding", dtype: "fp16" })
  expect([...filesOf(join(dir, "c")).keys()].filter((f) => f.startsWith("onnx/"))).toEqual(["onnx/model_fp16.onnx"])
  expectSameFolders(join(dir, "c"), join(dir, "d"))
}, 30_000)

test("m3 heads saved as sparse_linear.safetensors / colbert_linear.safetensors export the same model as the .pt heads", async () => {
  const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "m3", 21)
  const fromPt = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "heads-pt"), task: "m3" })
  for (const stem of ["sparse_linear", "colbert_linear"]) {
    const head = readTorchStateDict(join(ckpt, `${stem}.pt`))
    writeSafetensors(
      join(ckpt, `${stem}.safetensors`),
      [...head.tensors.values()].map((t) => ({ name: t.name, dtype: "float32" as const, shape: t.shape, values: () => t.readFloat32() })),
    )
    head.close()
    rmSync(join(ckpt, `${stem}.pt`))
  }
  const fromSafetensors = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "heads-st"), task: "m3" })
  expect(readFileSync(fromSafetensors.modelPath).equals(readFileSync(fromPt.modelPath))).toBe(true)
}, 30_000)
