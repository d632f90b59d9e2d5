// The embed step and what reads it: its artifact's format (float32 dense.npy, the text → row
// index, reranker pair scores, bge-m3's sparse and ColBERT arrays when asked), the same digests
// from two fresh caches, each distinct text embedded once per deployment over a whole evaluation
// (a spy on the Embedder counts the texts every session is given), and evaluate / fidelity
// figures equal to the old computation that ran the deployments again.
import { afterAll, afterEach, beforeAll, describe, expect, spyOn, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { pipeline } from "../../src/engine/index.ts"
import { closeDeployment, distinctTexts, embedTexts, loadStsDataset, openDeployment, readEmbeddings, type Deployment } from "../../src/evaluate/index.ts"
import { decodeNpy } from "../../src/numpy/index.ts"
import { embeddingFidelity, pearson, spearman, stsScores } from "../../src/metrics/index.ts"
import { Embedder } from "../../src/runtime/index.ts"
import { cleanup, runCaptured, tempDir, type CapturedRun } from "../../tests/support.ts"
import { compile, deploy, embed, evaluate, exportOnnx, fidelity, synthCheckpoint, synthSts } from "../index.ts"

const pairs = synthSts({ pairs: 48, seed: 11 })
const exported = (task: "embedding" | "reranker" | "m3", seed: number) =>
  exportOnnx({ task }).as(`export-${task}-${seed}`).to(synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task, seed }).as(`ckpt-${task}-${seed}`))

/** A candidate (compiled) and a reference (plain export) of one model, each embedded once, evaluated and compared. */
const evaluation = (task: "embedding" | "reranker") => {
  const model = exported(task, 3)
  const candidate = deploy({}).as(`deploy-${task}`).to(compile({ target: "cpu", allowMissing: ["attention"] }).as(`compile-${task}`).to(model))
  const reference = deploy({}).as(`deploy-${task}-plain`).to(model)
  const embedded = embed({}, { dataset: pairs }).as(`embed-${task}`).to(candidate)
  const embeddedReference = embed({}, { dataset: pairs }).as(`embed-${task}-plain`).to(reference)
  return pipeline(`embed-${task}`, embedded).fork(
    evaluate({}, { dataset: pairs }).as(`evaluate-${task}`),
    fidelity({}, { reference: embeddedReference, dataset: pairs }).as(`fidelity-${task}`),
  ).also(evaluate({}, { dataset: pairs }).as(`evaluate-${task}-plain`).to(embeddedReference))
}
const whole = evaluation("embedding").also(...evaluation("reranker").ends)

const dirs: string[] = []
afterEach(() => cleanup(...dirs.splice(0)))
const fresh = () => {
  const d = tempDir()
  dirs.push(d)
  return d
}
const outOf = (r: CapturedRun, id: string) => r.json.steps.find((s) => s.id === id)!.outputs.out!.path
const evalJson = (r: CapturedRun, id: string) => JSON.parse(readFileSync(join(outOf(r, id), "eval.json"), "utf8"))

describe("embed, evaluate and fidelity over one synthetic embedder and reranker", () => {
  let root = ""
  let run: CapturedRun
  /** Texts each Embedder was handed, by deployment folder. */
  const embedded = new Map<string, string[]>()

  beforeAll(async () => {
    root = tempDir()
    const original = Embedder.prototype.embed
    const spy = spyOn(Embedder.prototype, "embed").mockImplementation(function (this: Embedder, texts, options) {
      const dir = this.bundle.dir
      embedded.set(dir, [...(embedded.get(dir) ?? []), ...texts])
      return original.call(this, texts, options)
    })
    try {
      run = await runCaptured(whole, root)
    } finally {
      spy.mockRestore()
    }
    if (run.code !== 0) throw new Error(`the pipeline failed:\n${run.stderr}`)
  }, 240_000)
  afterAll(() => cleanup(root))

  test("the artifact: float32 dense.npy [distinct texts, hidden] and embeddings.json indexing its rows", async () => {
    const dir = outOf(run, "embed-embedding")
    const texts = distinctTexts(await loadStsDataset(join(outOf(run, "synthSts")), undefined))
    const manifest = JSON.parse(readFileSync(join(dir, "embeddings.json"), "utf8"))
    expect(manifest).toMatchObject({ format: "kiln-embeddings/1", task: "embedder", input: "passage", rows: texts.length, texts, sparse: false, colbert: false })
    const dense = decodeNpy(readFileSync(join(dir, "dense.npy")))
    expect(dense.dtype).toBe("float32")
    expect(dense.shape).toEqual([texts.length, manifest.dim])
    // BGE embeddings are L2-normalised rows.
    const row = (dense.data as Float32Array).subarray(0, manifest.dim)
    expect(Math.hypot(...row)).toBeCloseTo(1, 5)
    const set = readEmbeddings(dir)
    expect(set.texts).toEqual(texts)
  })

  test("a reranker's artifact holds one float32 score per pair, indexed by its texts' rows", async () => {
    const set = readEmbeddings(outOf(run, "embed-reranker"))
    const data = await loadStsDataset(outOf(run, "synthSts"))
    expect(set.task).toBe("reranker")
    if (set.task !== "reranker") return
    expect(set.scores.length).toBe(data.length)
    expect(set.pairs.map(([a, b]) => [set.texts[a], set.texts[b]])).toEqual(data.map((p) => [p.sentence1, p.sentence2]))
  })

  test("each distinct text is embedded exactly once per deployment over evaluate, fidelity and the reference's evaluate", async () => {
    const texts = distinctTexts(await loadStsDataset(outOf(run, "synthSts")))
    const byDeployment = [outOf(run, "deploy-embedding"), outOf(run, "deploy-embedding-plain")].map((d) => embedded.get(d) ?? [])
    for (const seen of byDeployment) {
      expect(seen.length).toBe(texts.length)
      expect([...seen].sort()).toEqual([...texts].sort())
    }
    // Nothing else was embedded (the reranker scores pairs; it has no Embedder).
    expect(embedded.size).toBe(2)
  })

  test("evaluate and fidelity equal the old computation, which ran both deployments again", async () => {
    const data = await loadStsDataset(outOf(run, "synthSts"))
    const gold = data.map((p) => p.score)
    const texts = distinctTexts(data)
    const row = new Map(texts.map((t, i) => [t, i]))
    const open = async <A>(ids: string[], use: (ds: Deployment[]) => Promise<A>): Promise<A> => {
      const ds: Deployment[] = []
      try {
        for (const id of ids) ds.push(await openDeployment(outOf(run, id), { threads: 2 }))
        return await use(ds)
      } finally {
        for (const d of ds) await closeDeployment(d)
      }
    }
    // The old evaluate and fidelity steps, as they computed before embeddings were an artifact.
    await open(["deploy-embedding", "deploy-embedding-plain"], async ([candidate, reference]) => {
      const sts = async (d: Deployment) => {
        const all = await embedTexts(d as Deployment & { kind: "embedder" }, texts, 32, "passage")
        const dim = all.shape[1]!
        const pick = (key: "sentence1" | "sentence2") => data.map((p) => Array.from(all.data.subarray(row.get(p[key])! * dim, (row.get(p[key])! + 1) * dim)))
        const { pairs: count, ...scores } = stsScores(pick("sentence1"), pick("sentence2"), gold)
        return { all, metrics: { ...scores, pairs: count } }
      }
      const c = await sts(candidate!)
      const r = await sts(reference!)
      expect(evalJson(run, "evaluate-embedding").metrics).toEqual(c.metrics)
      expect(evalJson(run, "evaluate-embedding-plain").metrics).toEqual(r.metrics)
      const f = embeddingFidelity(r.all, c.all)
      const report = evalJson(run, "fidelity-embedding")
      expect(report.fidelity).toEqual({ cosine_mean: f.mean, cosine_p1: f.p1, cosine_min: f.min, texts: f.rows })
      expect(report.candidate).toEqual(c.metrics)
      expect(report.reference).toEqual(r.metrics)
    })
    await open(["deploy-reranker", "deploy-reranker-plain"], async ([candidate, reference]) => {
      const score = (d: Deployment) => (d as Deployment & { kind: "reranker" }).reranker.score(data.map((p) => [p.sentence1, p.sentence2] as const), { batchSize: 32 })
      const c = await score(candidate!)
      const r = await score(reference!)
      expect(evalJson(run, "evaluate-reranker").metrics).toEqual({ score_spearman: spearman(gold, c), score_pearson: pearson(gold, c), main_score: spearman(gold, c), pairs: data.length })
      expect(evalJson(run, "fidelity-reranker").fidelity.score_spearman).toBe(spearman(r, c))
    })
  }, 120_000)

  test("fidelity's report carries the per-text cosine distribution and the worst texts", async () => {
    const report = evalJson(run, "fidelity-embedding")
    const texts = distinctTexts(await loadStsDataset(outOf(run, "synthSts")))
    expect(report.distribution.measure).toBe("cosine")
    expect(report.distribution.histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(texts.length)
    expect(report.distribution.quantiles.p0).toBe(report.fidelity.cosine_min)
    expect(report.worst.length).toBe(10)
    expect(report.worst[0].cosine).toBe(report.fidelity.cosine_min)
    for (const w of report.worst) expect(texts).toContain(w.text)
    const cosines = report.worst.map((w: { cosine: number }) => w.cosine)
    expect(cosines).toEqual([...cosines].sort((a, b) => a - b))
    const reranker = evalJson(run, "fidelity-reranker")
    expect(reranker.distribution.measure).toBe("abs_score_diff")
    expect(reranker.worst[0].abs_diff).toBe(reranker.fidelity.score_max_abs_diff)
  })

  test("two fresh caches give the same digest for every output", async () => {
    const again = await runCaptured(whole, fresh())
    expect(again.code).toBe(0)
    const digests = (r: CapturedRun) => Object.fromEntries(r.json.steps.map((s) => [s.id, s.outputs.out!.digest]))
    expect(digests(again)).toEqual(digests(run))
    expect(Object.keys(digests(run))).toContain("embed-embedding")
  }, 240_000)
})

describe("embed on bge-m3", () => {
  test("sparse and colbert: true store CSR lexical weights and multi-vectors beside the dense rows", async () => {
    const deployed = deploy({}).to(exported("m3", 5))
    const r = await runCaptured(pipeline("m3", deployed).then(embed({ sparse: true, colbert: true }, { dataset: synthSts({ pairs: 6, seed: 2 }) })), fresh())
    expect(r.code).toBe(0)
    const set = readEmbeddings(outOf(r, "embed"))
    if (set.task !== "embedder") throw new Error("expected an embedder's embeddings")
    const rows = set.texts.length
    expect(set.sparse!.indptr.length).toBe(rows + 1)
    expect(set.sparse!.values.every((v) => v > 0)).toBe(true)
    for (let t = 0; t < rows; t++) {
      const ids = set.sparse!.indices.subarray(set.sparse!.indptr[t]!, set.sparse!.indptr[t + 1]!)
      expect([...ids]).toEqual([...ids].sort((a, b) => a - b))
    }
    expect(set.colbert!.offsets.length).toBe(rows + 1)
    expect(set.colbert!.vectors.shape).toEqual([set.colbert!.offsets[rows]!, set.dense.shape[1]!])
  }, 120_000)

  test("asking a plain embedder for sparse outputs fails naming the deployment", async () => {
    const deployed = deploy({}).to(exported("embedding", 6))
    const r = await runCaptured(pipeline("no-m3", deployed).then(embed({ sparse: true }, { dataset: synthSts({ pairs: 6, seed: 2 }) })), fresh())
    expect(r.code).toBe(1)
    expect(r.json.steps.find((s) => s.id === "embed")!.error!.message).toContain("has no lexical-weights output (only bge-m3 deployments do)")
  }, 120_000)
})

describe("evaluate on embeddings of another dataset", () => {
  test("fails naming the text the embeddings lack, and what to do", async () => {
    const deployed = deploy({}).to(exported("embedding", 3))
    const other = synthSts({ pairs: 8, seed: 99 }).as("other-pairs")
    const r = await runCaptured(pipeline("mismatch", deployed).then(embed({}, { dataset: pairs })).then(evaluate({}, { dataset: other })), fresh())
    expect(r.code).toBe(1)
    expect(r.json.steps.find((s) => s.id === "evaluate")!.error!.message).toMatch(/the evaluated embeddings have no row for the text ".+"; embed the same dataset \(and limit\) that is evaluated/)
  }, 120_000)
})
