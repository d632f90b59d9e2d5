// Proves openCheckpoint picks the weights a folder ships (safetensors over pytorch_model.bin,
// sharded indexes too), loads *.pt heads as extras, and names the folder when nothing is there.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { CheckpointError } from "./errors.ts"
import { openCheckpoint } from "./open.ts"
import { writeSafetensors } from "./safetensors-writer.ts"
import { makeTempDir, seededSource, seededValues } from "./testing/fixtures.ts"
import { writeTorchStateDict } from "./torch-writer.ts"

const { dir, cleanup } = makeTempDir("open")
afterAll(cleanup)

const config = {
  architectures: ["XLMRobertaModel"],
  model_type: "xlm-roberta",
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  vocab_size: 10,
  max_position_embeddings: 12,
  type_vocab_size: 1,
}

const modelDir = (name: string): string => {
  const path = join(dir, name)
  mkdirSync(path)
  writeFileSync(join(path, "config.json"), JSON.stringify(config))
  return path
}

describe("openCheckpoint", () => {
  test("a bge-m3 style folder: pytorch_model.bin plus sparse_linear.pt and colbert_linear.pt heads", () => {
    const path = modelDir("m3")
    writeTorchStateDict(join(path, "pytorch_model.bin"), [seededSource("embeddings.word_embeddings.weight", "float32", [10, 8], 1)])
    writeTorchStateDict(join(path, "sparse_linear.pt"), [seededSource("weight", "float32", [1, 8], 2), seededSource("bias", "float32", [1], 3)])
    writeTorchStateDict(join(path, "colbert_linear.pt"), [seededSource("weight", "float32", [8, 8], 4), seededSource("bias", "float32", [8], 5)])
    const checkpoint = openCheckpoint(path)
    try {
      expect(checkpoint.format).toBe("pytorch")
      expect(checkpoint.configJson.hidden_size).toBe(8)
      expect(checkpoint.tensors.get("embeddings.word_embeddings.weight")!.readFloat32()).toEqual(seededValues(1, 80))
      expect([...checkpoint.extras.keys()]).toEqual(["colbert_linear", "sparse_linear"])
      expect(checkpoint.extras.get("sparse_linear")!.get("bias")!.readFloat32()).toEqual(seededValues(3, 1))
    } finally {
      checkpoint.close()
    }
    expect(() => checkpoint.extras.get("colbert_linear")!.get("weight")!.readFloat32()).toThrow(CheckpointError)
  })

  test("sparse_linear.safetensors and colbert_linear.safetensors heads are read like the .pt files (and preferred to them)", () => {
    const path = modelDir("m3-safetensors")
    writeSafetensors(join(path, "model.safetensors"), [seededSource("embeddings.word_embeddings.weight", "float32", [10, 8], 1)])
    writeSafetensors(join(path, "sparse_linear.safetensors"), [seededSource("weight", "float32", [1, 8], 2), seededSource("bias", "float32", [1], 3)])
    writeSafetensors(join(path, "colbert_linear.safetensors"), [seededSource("weight", "float32", [8, 8], 4), seededSource("bias", "float32", [8], 5)])
    writeTorchStateDict(join(path, "colbert_linear.pt"), [seededSource("weight", "float32", [8, 8], 6), seededSource("bias", "float32", [8], 7)])
    const checkpoint = openCheckpoint(path)
    try {
      expect([...checkpoint.extras.keys()]).toEqual(["colbert_linear", "sparse_linear"])
      expect(checkpoint.extras.get("sparse_linear")!.get("bias")!.readFloat32()).toEqual(seededValues(3, 1))
      expect(checkpoint.extras.get("colbert_linear")!.get("weight")!.readFloat32()).toEqual(seededValues(4, 64))
      expect(checkpoint.extraFiles.get("colbert_linear")).toBe("colbert_linear.safetensors")
    } finally {
      checkpoint.close()
    }
  })

  test("model.safetensors is preferred over pytorch_model.bin", () => {
    const path = modelDir("both")
    writeSafetensors(join(path, "model.safetensors"), [seededSource("w", "float16", [4], 1)])
    writeTorchStateDict(join(path, "pytorch_model.bin"), [seededSource("other", "float32", [4], 2)])
    const checkpoint = openCheckpoint(path)
    expect([checkpoint.format, [...checkpoint.tensors.keys()]]).toEqual(["safetensors", ["w"]])
    checkpoint.close()
  })

  test("sharded safetensors and sharded pytorch_model.bin indexes", () => {
    const st = modelDir("sharded-st")
    writeSafetensors(join(st, "model-00001-of-00002.safetensors"), [seededSource("a", "float32", [2], 1)])
    writeSafetensors(join(st, "model-00002-of-00002.safetensors"), [seededSource("b", "float32", [2], 2)])
    writeFileSync(
      join(st, "model.safetensors.index.json"),
      JSON.stringify({ weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" } }),
    )
    const pt = modelDir("sharded-pt")
    writeTorchStateDict(join(pt, "pytorch_model-00001-of-00002.bin"), [seededSource("a", "float32", [2], 1)])
    writeTorchStateDict(join(pt, "pytorch_model-00002-of-00002.bin"), [seededSource("b", "float32", [2], 2)])
    writeFileSync(
      join(pt, "pytorch_model.bin.index.json"),
      JSON.stringify({ weight_map: { a: "pytorch_model-00001-of-00002.bin", b: "pytorch_model-00002-of-00002.bin" } }),
    )
    for (const [path, format] of [[st, "safetensors-sharded"], [pt, "pytorch-sharded"]] as const) {
      const checkpoint = openCheckpoint(path)
      expect(checkpoint.format).toBe(format)
      expect(checkpoint.tensors.get("b")!.readFloat32()).toEqual(seededValues(2, 2))
      checkpoint.close()
    }
  })

  test("a folder without weights names the folder and the files looked for", () => {
    const path = modelDir("empty")
    try {
      openCheckpoint(path)
      throw new Error("expected an error")
    } catch (error) {
      expect(error).toBeInstanceOf(CheckpointError)
      expect((error as Error).message).toBe(
        `${path}: no weights found: expected one of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json in this folder`,
      )
    }
  })

  test("a folder without config.json fails on the config first", () => {
    const path = join(dir, "noconfig")
    mkdirSync(path)
    expect(() => openCheckpoint(path)).toThrow(/noconfig\/config\.json: cannot read the model config/)
  })
})
