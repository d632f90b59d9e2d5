// Export refuses a tokenizer that would load wrongly or not at all in transformers.js, naming the
// file and field, before anything is written; exporting without a tokenizer warns. Fixtures are
// seeded synthetic checkpoints whose tokenizer files the tests damage one way each.
import { afterAll, expect, test } from "bun:test"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { writeSyntheticTokenizer } from "../synth/index.ts"
import { exportCli } from "./cli.ts"
import { ExportError } from "../graph/index.ts"
import { exportEncoder } from "./export-encoder.ts"
import { scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("tokenizer-check")
afterAll(cleanup)

let counter = 0
const fresh = async (arch: "bert" | "xlm-roberta" = "bert") => tinyCheckpoint(join(dir, `c${counter++}`), arch, "embedding")

const exportError = async (checkpointDir: string, task: "embedding" | "reranker" | "m3" = "embedding"): Promise<ExportError> => {
  const outDir = join(dir, `out${counter++}`)
  try {
    await exportEncoder({ checkpointDir, outDir, task })
  } catch (error) {
    if (!(error instanceof ExportError)) throw error
    expect(existsSync(join(outDir, "onnx"))).toBe(false)
    return error
  }
  throw new Error("expected the export to fail")
}

const editJson = (path: string, edit: (json: Record<string, any>) => void): void => {
  const json = JSON.parse(readFileSync(path, "utf8"))
  edit(json)
  writeFileSync(path, JSON.stringify(json))
}

test("a tokenizer.json that is not JSON is refused naming the file", async () => {
  const ckpt = await fresh()
  writeFileSync(join(ckpt, "tokenizer.json"), "{ this is not json")
  const error = await exportError(ckpt)
  expect(error.reason).toBe("InvalidTokenizer")
  expect(error.message).toStartWith(`${join(ckpt, "tokenizer.json")}: not valid JSON`)
})

test("an unknown model type is refused naming the field and the type", async () => {
  const ckpt = await fresh()
  editJson(join(ckpt, "tokenizer.json"), (json) => void (json.model.type = "FancyPiece"))
  const error = await exportError(ckpt)
  expect(error.message).toStartWith(`${join(ckpt, "tokenizer.json")}: field "model.type" is "FancyPiece"`)
})

test("an unknown pre-tokenizer type is refused naming the field and the type", async () => {
  const ckpt = await fresh("xlm-roberta")
  editJson(join(ckpt, "tokenizer.json"), (json) => void (json.pre_tokenizer = { type: "MoonSplit" }))
  const error = await exportError(ckpt)
  expect(error.message).toStartWith(`${join(ckpt, "tokenizer.json")}: field "pre_tokenizer" has type "MoonSplit", which transformers.js does not know`)
})

test("a tokenizer whose ids exceed the model's vocab_size is refused with both numbers", async () => {
  const ckpt = await fresh()
  const vocabSize = (JSON.parse(readFileSync(join(ckpt, "config.json"), "utf8")) as { vocab_size: number }).vocab_size
  await writeSyntheticTokenizer(ckpt, { kind: "wordpiece", vocabSize: vocabSize + 500, seed: 9, modelMaxLength: 64 })
  const error = await exportError(ckpt)
  expect(error.reason).toBe("InvalidTokenizer")
  expect(error.message).toMatch(
    new RegExp(`tokenizer\\.json: token id ${vocabSize + 499} \\(".*"\\) is past the model's vocabulary: config\\.json vocab_size is ${vocabSize}`),
  )
})

test("a special token the task needs that is not in the vocabulary is refused naming tokenizer_config.json and the field", async () => {
  const ckpt = await fresh()
  editJson(join(ckpt, "tokenizer_config.json"), (json) => void (json.pad_token = "[NOPE]"))
  const error = await exportError(ckpt)
  expect(error.message).toStartWith(`${join(ckpt, "tokenizer_config.json")}: field "pad_token" is "[NOPE]", which is not in the tokenizer's vocabulary`)
  const reranker = await fresh("xlm-roberta")
  editJson(join(reranker, "tokenizer_config.json"), (json) => void delete json.sep_token)
  editJson(join(reranker, "special_tokens_map.json"), (json) => void delete json.sep_token)
  expect((await exportError(reranker, "reranker")).message).toContain('task "reranker" needs a sep_token')
})

test("tokenizer.json without tokenizer_config.json is refused: transformers.js cannot pick the class", async () => {
  const ckpt = await fresh()
  rmSync(join(ckpt, "tokenizer_config.json"))
  expect((await exportError(ckpt)).message).toStartWith(`${ckpt}: tokenizer_config.json is missing`)
})

test("exporting without a tokenizer succeeds with a warning that transformers.js will not load the folder", async () => {
  const ckpt = await fresh()
  for (const file of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]) rmSync(join(ckpt, file), { force: true })
  const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, "no-tokenizer"), task: "embedding" })
  expect(result.warnings).toEqual([`${ckpt} has no tokenizer.json: the exported folder will not load in transformers.js (copy the model's tokenizer files beside config.json)`])
  const err = { text: "", write(s: string) { this.text += s } }
  expect(await exportCli([ckpt, "--task", "embedding", "--quiet", "--out", join(dir, "no-tokenizer-cli")], { write: () => true }, err)).toBe(0)
  expect(err.text).toBe(`warning: kiln export: ${result.warnings[0]}\n`)
})

test("good tokenizers export with no warnings, for every task", async () => {
  for (const [arch, task] of [["bert", "embedding"], ["xlm-roberta", "reranker"], ["xlm-roberta", "m3"]] as const) {
    const ckpt = await tinyCheckpoint(join(dir, `good${counter++}`), arch, task)
    const result = await exportEncoder({ checkpointDir: ckpt, outDir: join(dir, `good-out${counter++}`), task })
    expect(result.warnings).toEqual([])
  }
})
