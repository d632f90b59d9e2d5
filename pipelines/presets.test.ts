// Every model preset end to end on a tiny synthetic checkpoint of its architecture and tokenizer
// family (the real bge-small-zh / bge-base-en tokenizers from ../shared/data where present),
// served with its evaluation sets by a local server shaped like the Hugging Face Hub:
// hf() download → export → (quantize) → compile → deploy → evaluate on the cpu target.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { parquetWriteBuffer } from "hyparquet-writer"
import { takePipelineInputs } from "../src/cli/index.ts"
import { syntheticRerankQueries, syntheticStsPairs } from "../src/datasets/index.ts"
import { hubSettingsFromEnv } from "../src/hub/index.ts"
import { type FakeFile, type FakeHub, type FakeRepo, startFakeHub } from "../src/hub/testing/fake-hub.ts"
import { synthesizeCheckpoint } from "../src/synth/index.ts"
import { bertVariant } from "../src/families/bert/variant.ts"
import { huggingFaceConfig } from "../src/families/encoder/hf-config.ts"
import { encoderShape } from "../src/families/encoder/shapes.ts"
import { xlmRobertaVariant } from "../src/families/xlm-roberta/variant.ts"
import { ReportModel } from "../src/report/index.ts"
import { standInPython } from "../src/targets/index.ts"
import { useStandIns } from "../src/targets/testing/stand-in-env.ts"
import { checkConfigAgainstPreset, datasetPresets, measuredVsPublished, modelPreset, modelPresets, presetInputs, presetPipeline, presetReportSpec, presetVariant, runReport, type ModelPreset, type Precision } from "../stdlib/index.ts"
import { cleanup, runCaptured, tempDir } from "../tests/support.ts"

const SHARED = join(import.meta.dir, "..", "..", "shared", "data", "tokenizers")
const COMMIT = "d".repeat(40)
const tokenizerDirs = { english: join(SHARED, "bge-base-en-v1.5"), chinese: join(SHARED, "bge-small-zh-v1.5") } as const

let hub: FakeHub
let root: string
const repos: FakeRepo[] = []
const tiny = new Map<string, ModelPreset>()

const folderAsRepo = (dir: string): Record<string, FakeFile> =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, { bytes: new Uint8Array(readFileSync(join(dir, f))), lfs: /\.(safetensors|bin|pt)$/.test(f) }]))

const stsParquet = (seed: number): FakeFile => {
  const pairs = syntheticStsPairs(40, seed)
  const columnData = [
    { name: "sentence1", data: pairs.map((p) => p.sentence1) },
    { name: "sentence2", data: pairs.map((p) => p.sentence2) },
    { name: "score", data: pairs.map((p) => p.score) },
  ]
  return { bytes: new Uint8Array(parquetWriteBuffer({ columnData })), lfs: true }
}

beforeAll(async () => {
  root = tempDir()
  for (const [i, spec] of Object.values(datasetPresets).entries()) {
    const files: Record<string, FakeFile> =
      spec.kind === "sts"
        ? { [`data/${spec.split}-00000-of-00001.parquet`]: stsParquet(10 + i) }
        : {
            [`${spec.split}.jsonl.gz`]: {
              bytes: new Uint8Array(gzipSync(syntheticRerankQueries(8, 5).map((q) => JSON.stringify({ query: q.query, positive_passages: q.positives.map((text) => ({ text })), negative_passages: q.negatives.map((text) => ({ text })) })).join("\n"))),
              lfs: true,
            },
          }
    repos.push({ type: "dataset", id: spec.repo, commits: { [COMMIT]: files }, refs: { main: COMMIT } })
  }
  for (const [i, preset] of modelPresets.entries()) {
    const out = join(root, "models", preset.name)
    const tokenizerDir = preset.synth.tokenizer === "xlm-roberta" ? undefined : tokenizerDirs[preset.synth.tokenizer]
    await synthesizeCheckpoint({ arch: preset.shape.family, size: "tiny", task: preset.task, seed: 20 + i, out, ...(tokenizerDir !== undefined && existsSync(tokenizerDir) ? { tokenizerDir } : {}) })
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"))
    // The preset at the stand-in's scale: everything but the dimensions stays the real model's.
    tiny.set(preset.name, {
      ...preset,
      seqlen: 32,
      shape: { ...preset.shape, hiddenSize: config.hidden_size, numLayers: config.num_hidden_layers, numHeads: config.num_attention_heads, intermediateSize: config.intermediate_size, vocabSize: config.vocab_size, maxPositions: config.max_position_embeddings },
    })
    repos.push({ type: "model", id: preset.repo, commits: { [COMMIT]: folderAsRepo(out) }, refs: { main: COMMIT } })
  }
  hub = await startFakeHub(repos)
}, 120_000)

afterAll(async () => {
  await hub?.close()
  cleanup(root)
})

const settings = () => hubSettingsFromEnv({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(root, "hf") }, { timeoutMs: 5_000 })
// Tiny synthetic sets make Spearman noisy; the presets' real gates are for real data. The bench
// runs a fixed two batches per configuration, not a wall-clock budget: it is exercised, not timed.
const quick = (preset: ModelPreset, precision: Precision, target: "cpu" | "vacc" = "cpu") => [
  ...["--set", "bench.iterations=2", "--set", "fidelity.maxDrop={}"],
  ...["--set", `fidelity.min=${JSON.stringify(preset.task === "reranker" ? { score_spearman: 0.9 } : { cosine_mean: 0.9 })}`],
  // vamc fp16 needs no calibration set.
  ...(precision === "int8" || (precision === "fp16" && target === "cpu") ? ["--set", "calibrate.samples=24"] : []),
]

/** Runs a preset in a fresh cache; `inspect` reads its outputs before the cache is removed. */
const runPreset = async (name: string, precision: Precision, inspect: (r: Awaited<ReturnType<typeof runCaptured>>) => void, target: "cpu" | "vacc" = "cpu") => {
  const dir = tempDir()
  try {
    // The tiny stand-in model has 32 positions: its device seqlens are two that fit.
    const preset = target === "vacc" ? { ...tiny.get(name)!, deviceSeqlens: [16, 32] } : tiny.get(name)!
    // The report hook presetMain gives every pipeline file.
    const report = runReport(() => presetReportSpec(preset, precision))
    const r = await runCaptured(presetPipeline(preset, { precision, target, hub: settings }), dir, quick(preset, precision, target), { report })
    if (r.code !== 0) console.error(r.stderr)
    inspect(r)
  } finally {
    cleanup(dir)
  }
}

describe("model presets end to end", () => {
  for (const preset of modelPresets) {
    test(`${preset.name}: hf() → export → compile → deploy → evaluate on ${preset.evalSet}, fp32`, async () => {
      await runPreset(preset.name, "fp32", (r) => {
        expect(r.code).toBe(0)
        expect(r.status).toMatchObject({ [preset.name]: "cached", exportOnnx: "ran", compile: "ran", deploy: "ran", evaluate: "ran", fidelity: "ran", bench: "ran" })
        const rows = measuredVsPublished(preset, "fp32", { exitCode: 0, mode: "run", json: true, summary: r.json })
        expect(typeof rows[0]!.measured).toBe("number")
        expect(rows[0]!.published).toBe(preset.published.find((f) => f.precision === "fp32")?.value)
      })
    }, 120_000)
  }

  test("bge-m3 int8: calibrate → quantize (sensitivity search) → compile → deploy, with fp32 beside it; its report shows the search", async () => {
    await runPreset("bge-m3", "int8", (r) => {
      expect(r.code).toBe(0)
      expect(r.status).toMatchObject({ calibrate: "ran", quantize: "ran", compile: "ran", "evaluate-fp32": "ran", fidelity: "ran" })
      const report = ReportModel.parse(JSON.parse(readFileSync((r.json as unknown as { report: { json: string } }).report.json, "utf8")))
      const preset = modelPreset("bge-m3")
      expect(report.title).toBe(`${preset.repo} int8`)
      expect(report.accuracy.map((a) => [a.label, a.node, a.published?.value])).toEqual([
        ["int8", "evaluate", preset.published.find((f) => f.precision === "int8" && f.dataset === preset.evalSet)?.value],
        ["fp32", "evaluate-fp32", preset.published.find((f) => f.precision === "fp32" && f.dataset === preset.evalSet)?.value],
      ])
      const search = report.sensitivity[0]!
      expect(search.node).toBe("quantize")
      // Every configuration the search measured, starting with everything in int8; the share of
      // MACs in int8 is what the last one left in int8.
      expect(search.steps[0]!.action).toBe("all int8")
      expect(search.int8MacsShare).toBeCloseTo(1 - search.steps.at(-1)!.floatMacsShare, 9)
      expect(search.groups.filter((g) => g.keptFloat).length).toBe(search.steps.at(-1)!.keptFloat)
      expect(report.bench[0]!.configs.map((c) => c.batch)).toEqual([1, 8])
      expect(readFileSync((r.json as unknown as { report: { html: string } }).report.html, "utf8")).toContain("Sensitivity search")
    })
  }, 180_000)

  test("bge-reranker-v2-m3 int8 evaluates MAP on MS MARCO beside fp32", async () => {
    await runPreset("bge-reranker-v2-m3", "int8", (r) => {
      expect(r.code).toBe(0)
      expect(r.status).toMatchObject({ quantize: "ran", evaluate: "ran", "evaluate-fp32": "ran" })
      const rows = measuredVsPublished(modelPreset("bge-reranker-v2-m3"), "int8", { exitCode: 0, mode: "run", json: true, summary: r.json })
      expect(rows.map((row) => [row.precision, row.metric, row.published])).toEqual([["int8", "map", 0.4932], ["fp32", "map", 0.5789]])
      expect(rows.every((row) => typeof row.measured === "number")).toBe(true)
    })
  }, 180_000)

  test("bge-small-zh-v1.5 fp16 quantizes to fp16 and keeps the Chinese query instruction", async () => {
    await runPreset("bge-small-zh-v1.5", "fp16", (r) => {
      expect(r.code).toBe(0)
      expect(r.status).toMatchObject({ quantize: "ran", fidelity: "ran" })
      const deployed = r.json.steps.find((s) => s.id === "deploy")!.outputs.out!.path
      expect(readFileSync(join(deployed, "runtime.json"), "utf8")).toContain("为这个句子生成表示以用于检索相关文章：")
    })
  }, 180_000)
})

// The stand-in vaststreamx module needs a Python with numpy (Debian's python3-numpy in CI).
describe.skipIf(standInPython() === null)("model presets on target vacc (kiln's stand-ins)", () => {
  useStandIns()
  const outputOf = (r: Awaited<ReturnType<typeof runCaptured>>, id: string, file: string) => readFileSync(join(r.json.steps.find((s) => s.id === id)!.outputs.out!.path, file), "utf8")

  test("bge-m3 fp16: device export → vamc fp16 at every device seqlen → vaststreamx evaluation and fidelity against the export on ONNX Runtime → vamp", async () => {
    await runPreset(
      "bge-m3",
      "fp16",
      (r) => {
        expect(r.code).toBe(0)
        const runsOn = Object.fromEntries(r.json.steps.filter((s) => s.runsOn !== undefined).map((s) => [s.id, s.runsOn]))
        // evaluate and fidelity read the embed steps' artifacts: the embedding ran on the card, the reference's here.
        expect(runsOn).toMatchObject({ compile: "vacc", deploy: "vacc", embed: "vacc", bench: "vacc", "deploy-fp32": "cpu", "embed-fp32": "cpu" })
        expect(runsOn.evaluate).toBeUndefined()
        // The report's accuracy rows still say where each deployment ran: from the embed node they read.
        const report = ReportModel.parse(JSON.parse(readFileSync((r.json as unknown as { report: { json: string } }).report.json, "utf8")))
        expect(report.accuracy.map((a) => [a.label, a.runsOn])).toEqual([
          ["fp16", "vacc"],
          ["fp32", "cpu"],
        ])
        const model = JSON.parse(outputOf(r, "compile", "vacc/model.json"))
        expect(model).toMatchObject({ task: "embedding", dtype: "fp16" })
        expect(model.models.map((m: { seqlen: number }) => m.seqlen)).toEqual([16, 32])
        expect(JSON.parse(outputOf(r, "fidelity", "eval.json")).fidelity.cosine_mean).toBeGreaterThan(0.999)
        expect(JSON.parse(outputOf(r, "bench", "bench.json")).target).toBe("vacc")
      },
      "vacc",
    )
  }, 240_000)

  test("bge-reranker-v2-m3 int8: calibrate → quantize (vamc's block with the preset's exclude list, max calibration) → vamc int8 → MAP through vaststreamx", async () => {
    await runPreset(
      "bge-reranker-v2-m3",
      "int8",
      (r) => {
        expect(r.code).toBe(0)
        const yaml = outputOf(r, "compile", "vacc/32/vamc.yaml")
        expect(yaml).toContain("dtype: int8")
        expect(yaml).toContain("calibrate_mode: max")
        expect(yaml).toContain("exclude_layers:")
        expect(JSON.parse(outputOf(r, "evaluate", "eval.json")).metrics.map).toBeGreaterThan(0)
      },
      "vacc",
    )
  }, 240_000)
})

describe("preset lock files", () => {
  test("a file's own precision on the CPU keeps <file>.lock.json; other flags their own", () => {
    expect(presetVariant({}, "fp32", "cpu")).toBeUndefined()
    expect(presetVariant({}, "int8", "vacc")).toBe("int8-vacc")
    expect(presetVariant({ precision: "int8" }, "int8", "vacc")).toBe("vacc")
    expect(presetVariant({ precision: "fp16", target: "vacc" }, "fp16", "vacc")).toBeUndefined()
    expect(presetVariant({ precision: "fp16", target: "vacc" }, "fp16", "cpu")).toBe("cpu")
  })
})

describe("model presets refuse bad input", () => {
  test("an unknown model name lists the known ones", () => {
    expect(() => modelPreset("bge-huge")).toThrow(/unknown model "bge-huge"; known: bge-m3, bge-small-en-v1.5, .*bge-reranker-v2-m3/)
  })

  test("a precision the pipeline cannot build names the ones it can", () => {
    expect(() => takePipelineInputs(presetInputs("bge-m3"), ["--precision", "int4"], {})).toThrow(/"int4" is not one of fp32, fp16, int8/)
    expect(() => takePipelineInputs(presetInputs("bge-m3", { precision: "int8" }), ["--precision", "fp16"], {})).toThrow(/"fp16" is not one of int8/)
    expect(takePipelineInputs(presetInputs("bge-m3"), [], {}).values).toMatchObject({ precision: "fp32", target: "cpu", modelDir: undefined })
  })

  test("a checkpoint whose config disagrees with its preset names the field", async () => {
    const preset = tiny.get("bge-small-en-v1.5")!
    const dir = tempDir()
    try {
      const r = await runCaptured(presetPipeline({ ...preset, shape: { ...preset.shape, hiddenSize: preset.shape.hiddenSize * 2 } }, { precision: "fp32", target: "cpu", hub: settings }), dir)
      expect(r.code).not.toBe(0)
      expect(r.stderr).toContain(`hidden_size is ${preset.shape.hiddenSize}, but BAAI/bge-small-en-v1.5 has ${preset.shape.hiddenSize * 2}`)
      const wrongArch = await runCaptured(presetPipeline({ ...preset, shape: { ...preset.shape, family: "xlm-roberta" } }, { precision: "fp32", target: "cpu", hub: settings }), dir)
      expect(wrongArch.stderr).toContain('model_type is "bert", but BAAI/bge-small-en-v1.5 is a "xlm-roberta" model')
    } finally {
      cleanup(dir)
    }
  })
})

describe("a checkpoint's config.json is read by its family", () => {
  const withConfig = (config: Record<string, unknown>): string => {
    const dir = tempDir()
    writeFileSync(join(dir, "config.json"), JSON.stringify(config))
    return dir
  }
  const bgeSmall = { model_type: "bert", hidden_size: 384, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 1536, vocab_size: 30522, max_position_embeddings: 512 }

  test("the real bge-small-en-v1.5 config passes", () => {
    const dir = withConfig(bgeSmall)
    try {
      expect(() => checkConfigAgainstPreset(modelPreset("bge-small-en-v1.5"), dir)).not.toThrow()
    } finally {
      cleanup(dir)
    }
  })

  test("a field the family cannot read is named by the family's check, with the preset's repo", () => {
    const dir = withConfig({ ...bgeSmall, num_attention_heads: "twelve" })
    try {
      expect(() => checkConfigAgainstPreset(modelPreset("bge-small-en-v1.5"), dir)).toThrow(/config\.json.*num_attention_heads must be an integer, got "twelve".*expected the config\.json of BAAI\/bge-small-en-v1\.5/)
    } finally {
      cleanup(dir)
    }
  })

  test("a model_type no family reads lists the registered ones; an XLM-R config passes an XLM-R preset", () => {
    const unknown = withConfig({ ...bgeSmall, model_type: "gpt2" })
    const xlmr = withConfig({ ...bgeSmall, model_type: "xlm-roberta", max_position_embeddings: 514, vocab_size: 250002, hidden_size: 768, intermediate_size: 3072 })
    try {
      expect(() => checkConfigAgainstPreset(modelPreset("bge-small-en-v1.5"), unknown)).toThrow(/model_type "gpt2" is not supported; kiln reads .*"bert".*"xlm-roberta"/)
      expect(() => checkConfigAgainstPreset(modelPreset("bge-reranker-base"), xlmr)).not.toThrow()
    } finally {
      cleanup(unknown)
      cleanup(xlmr)
    }
  })
})

describe("each preset's synthetic size (bench/presets.ts) is its real shape", () => {
  // The config.json the synth writes at that size — with the real Chinese vocabulary where the
  // stand-in takes the bge-small-zh tokenizer — passes the preset's own check of the checkpoint.
  for (const preset of modelPresets) {
    test(preset.name, () => {
      const variant = { bert: bertVariant, "xlm-roberta": xlmRobertaVariant }[preset.shape.family]!
      const size = encoderShape(variant.synth, preset.synth.size)
      const shape = preset.synth.tokenizer === "chinese" ? { ...size, vocabSize: 21128 } : size
      const dir = tempDir()
      try {
        const config = huggingFaceConfig({ variant, shape, sequenceClassification: preset.task === "reranker", specialTokenIds: variant.synth.defaultIds, dtype: "float32", nameOrPath: "test" })
        writeFileSync(join(dir, "config.json"), JSON.stringify(config))
        expect(() => checkConfigAgainstPreset(preset, dir)).not.toThrow()
      } finally {
        cleanup(dir)
      }
    })
  }
})

describe("pipeline files", () => {
  const run = async (file: string, args: string[]) => {
    // No VastAI tools: discovery finds none of them.
    const env = { ...process.env, HF_HUB_CACHE: join(root, "empty-hf"), HF_ENDPOINT: "http://127.0.0.1:9", KILN_VAMC: join(root, "no-vamc"), KILN_VAMP: join(root, "no-vamp") }
    const proc = Bun.spawn(["bun", "run", join(import.meta.dir, file), ...args], { stdout: "pipe", stderr: "pipe", env })
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    return { stdout, stderr, code }
  }

  test("--help lists the preset's flags; --graph draws the chain; neither touches the network", async () => {
    const help = await run("bge-m3-int8.ts", ["--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("--precision int8")
    expect(help.stdout).toContain("--model-dir DIR")
    const graph = await run("bge-reranker-v2-m3.ts", ["--graph", "--precision", "int8"])
    expect(graph.code).toBe(0)
    expect(graph.stdout).toContain("flowchart LR")
    expect(graph.stdout).toContain("quantize")
    expect(graph.stdout).toContain("rerankFromHub")
  }, 60_000)

  test("--graph and --dry-run with --target vacc work on a machine without the VastAI tools", async () => {
    const dir = tempDir()
    try {
      const graph = await run("bge-m3-int8.ts", ["--graph", "--target", "vacc"])
      expect(graph.code).toBe(0)
      expect(graph.stdout).toContain("deploy_fp32")
      const dry = await run("bge-m3-fp16.ts", ["--dry-run", "--cache-dir", join(dir, "cache")])
      expect(dry.code).toBe(0)
      expect(dry.stdout).toContain("will fetch: BAAI/bge-m3@main")
      const fp32 = await run("bge-m3.ts", ["--dry-run", "--target", "vacc", "--cache-dir", join(dir, "cache")])
      expect(fp32.code).toBe(2)
      expect(fp32.stderr).toContain("the card runs fp16 or int8")
    } finally {
      cleanup(dir)
    }
  }, 60_000)

  test("--dry-run says the checkpoint and datasets would be fetched, and fetches nothing", async () => {
    const dir = tempDir()
    try {
      const dry = await run("bge-small-en-v1.5.ts", ["--dry-run", "--cache-dir", join(dir, "cache")])
      expect(dry.code).toBe(0)
      expect(dry.stdout).toContain("will fetch: BAAI/bge-small-en-v1.5@main")
      expect(dry.stdout).toContain("will fetch: mteb/sts12-sts@main")
    } finally {
      cleanup(dir)
    }
  }, 60_000)
})
