// `kiln export` from the command line: a good run writes the folder and says what it wrote; bad
// flags and bad checkpoints give usage or export errors and exit codes, not stack traces. Also
// checks that `kiln synth` and `kiln export` are reachable through the kiln command.
import { afterAll, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { readModelManifest } from "../artifacts/index.ts"
import { runKiln } from "../cli/kiln.ts"
import { writeZip } from "../zip/index.ts"
import { exportCli } from "./cli.ts"
import { scratch, tinyCheckpoint } from "./test-support.ts"

const { dir, cleanup } = scratch("cli")
afterAll(cleanup)

const capture = () => {
  let text = ""
  return { stream: { write: (s: string) => (text += s) }, text: () => text }
}

test("exports with --seqlen --int32 --dtype fp16 and reports inputs, outputs and files", async () => {
  const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "reranker")
  const out = capture()
  const err = capture()
  const code = await exportCli([ckpt, "--task", "reranker", "--seqlen", "16", "--int32", "--dtype", "fp16", "--out", join(dir, "out")], out.stream, err.stream)
  expect(err.text()).toContain("weights")
  expect(code).toBe(0)
  expect(out.text()).toContain("input_ids int32[batch, 16]")
  expect(out.text()).toContain("logits float32[batch, 1]")
  const manifest = readModelManifest(join(dir, "out"))
  expect(manifest).toMatchObject({ task: "reranker", family: "xlm-roberta", seqlen: 16, weights: "fp16", pooling: null, normalized: false })
})

test("bad flags are usage errors naming the flag (exit 2), nothing written", async () => {
  const err = capture()
  expect(await exportCli(["ckpt", "--task", "classify", "--seqlen", "1", "--out", join(dir, "x")], capture().stream, err.stream)).toBe(2)
  expect(err.text()).toContain('--task must be one of "embedding", "reranker", "m3", got "classify"')
  expect(err.text()).toContain('--seqlen must be ≥ 2, got "1"')
  const missing = capture()
  expect(await exportCli(["--task", "embedding", "--out", join(dir, "x")], capture().stream, missing.stream)).toBe(2)
  expect(missing.text()).toContain("the checkpoint folder is missing")
  const unknown = capture()
  expect(await exportCli(["ckpt", "--task", "embedding", "--out", "x", "--fast"], capture().stream, unknown.stream)).toBe(2)
  expect(unknown.text()).toContain("--fast")
  expect(existsSync(join(dir, "x"))).toBe(false)
})

test("an export error is reported on one line with exit code 1", async () => {
  const err = capture()
  expect(await exportCli([join(dir, "nowhere"), "--task", "embedding", "--out", join(dir, "y")], capture().stream, err.stream)).toBe(1)
  expect(err.text()).toStartWith("error: kiln export: ")
  expect(err.text()).toContain("config.json")
  expect(err.text().trim().split("\n")).toHaveLength(1)
})

test("kiln synth and kiln export are wired into the kiln command", async () => {
  const ckpt = join(dir, "synth")
  const out = capture()
  expect(await runKiln(["synth", "--arch", "bert", "--size", "tiny", "--task", "embedding", "--seed", "4", "--out", ckpt], out.stream, capture().stream)).toBe(0)
  expect(existsSync(join(ckpt, "model.safetensors"))).toBe(true)
  expect(await runKiln(["export", ckpt, "--task", "embedding", "--quiet", "--out", join(dir, "exported")], out.stream, capture().stream)).toBe(0)
  expect(existsSync(join(dir, "exported", "onnx", "model.onnx"))).toBe(true)
  const help = capture()
  expect(await runKiln(["export", "--help"], help.stream, capture().stream)).toBe(0)
  expect(help.text()).toContain("Usage: kiln export")
})

test("a zip-slip entry in a checkpoint archive is an export error with the kiln export: prefix, naming archive and entry", async () => {
  const ckpt = await tinyCheckpoint(dir, "xlm-roberta", "m3", 12)
  // Our writer refuses `..` names, so write a same-length safe name and patch it in both headers.
  const head = join(ckpt, "sparse_linear.pt")
  const safe = "sparse_linear/xx/xx/passwd"
  const evil = "sparse_linear/../../passwd"
  writeZip(head, [{ name: "sparse_linear/data.pkl", data: new Uint8Array(4) }, { name: safe, data: new Uint8Array(4) }])
  const bytes = readFileSync(head)
  writeFileSync(head, Buffer.from(bytes.toString("latin1").replaceAll(safe, evil), "latin1"))
  const err = capture()
  expect(await exportCli([ckpt, "--task", "m3", "--quiet", "--out", join(dir, "slip")], capture().stream, err.stream)).toBe(1)
  expect(err.text()).toStartWith(`error: kiln export: ${head} (entry "${evil}"): the name contains a \`..\` segment`)
  expect(err.text().trim().split("\n")).toHaveLength(1)
})
