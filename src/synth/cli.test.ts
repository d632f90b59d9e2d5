// Proves `kiln synth` parses its flags with clear usage errors and writes the folder it describes.

import { afterAll, expect, test } from "bun:test"
import { existsSync, readdirSync } from "node:fs"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runSynthCli } from "./cli.ts"

const root = await mkdtemp(join(tmpdir(), "kiln-synth-cli-"))
afterAll(() => rm(root, { recursive: true, force: true }))

const run = async (argv: string[]) => {
  let stdout = ""
  let stderr = ""
  const code = await runSynthCli(argv, { write: (s: string) => (stdout += s) }, { write: (s: string) => (stderr += s) })
  return { code, stdout, stderr }
}

test("writes a tiny bge-m3-layout checkpoint with outliers and reports it", async () => {
  const out = join(root, "m3")
  const result = await run(["--arch", "xlm-roberta", "--size", "tiny", "--task", "m3", "--outliers", "--seed", "4", "--out", out])
  expect(result.stderr).toBe("")
  expect(result.code).toBe(0)
  expect(result.stdout).toMatch(/^wrote .*m3 in [\d.]+s: .*pytorch_model\.bin, sparse_linear\.pt, colbert_linear\.pt \(2 layers, hidden 32, vocab 1000, outlier channels \d+, \d+\)/)
  expect(readdirSync(out)).toContain("colbert_linear.pt")
  expect(JSON.parse(await readFile(join(out, "config.json"), "utf8")).model_type).toBe("xlm-roberta")
})

test("--help prints the usage and succeeds", async () => {
  const result = await run(["--help"])
  expect(result.code).toBe(0)
  expect(result.stdout).toContain("Usage: kiln synth --arch ARCH")
})

test("missing and malformed flags are each named, with the usage, and nothing is written", async () => {
  const out = join(root, "never")
  const result = await run(["--arch", "gpt", "--size", "tiny", "--task", "embedding", "--seed", "x1", "--out", out])
  expect(result.code).toBe(2)
  expect(result.stderr).toMatch(/--arch must be one of "bert", .*"xlm-roberta", got "gpt"/)
  expect(result.stderr).toContain('--seed must be an integer, got "x1"')
  expect(result.stderr).toContain("Usage: kiln synth")
  expect(existsSync(out)).toBe(false)

  const missing = await run(["--arch", "bert", "--size", "tiny", "--task", "embedding"])
  expect(missing.code).toBe(2)
  expect(missing.stderr).toContain("--seed is required")
  expect(missing.stderr).toContain("--out is required")
})

test("an unknown flag and an impossible combination are usage errors", async () => {
  const unknown = await run(["--arch", "bert", "--colour", "red"])
  expect(unknown.code).toBe(2)
  expect(unknown.stderr).toMatch(/error: kiln synth: .*--colour/)

  const impossible = await run(["--arch", "bert", "--size", "tiny", "--task", "m3", "--seed", "1", "--out", join(root, "bad")])
  expect(impossible.code).toBe(2)
  expect(impossible.stderr).toContain('task: arch "bert" has tasks "embedding", "reranker", got "m3"')
})
