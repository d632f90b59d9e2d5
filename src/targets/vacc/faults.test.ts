// Bad input and faults on the vacc target, on kiln's stand-ins: each is a clear error naming the
// tool, file, field or die, with nothing half-made left in the cache.
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { local, pipeline } from "../../engine/index.ts"
import { writeNpz } from "../../numpy/index.ts"
import { renderVaccQuantizeYaml, vaccQuantizeConfig } from "../../quant/vacc-config.ts"
import { bench, compile, deploy, embed, exportOnnx, synthCheckpoint, synthSts } from "../../../stdlib/index.ts"
import { cleanup, runCaptured, tempDir, type CapturedRun } from "../../../tests/support.ts"
import { openDeploymentSession } from "../open-session.ts"
import { useStandIns, withEnv } from "../testing/stand-in-env.ts"
import { deviceExportParams } from "./device-export.ts"
import { standInEnvironment, standInPython } from "./stand-in/env.ts"

const numpy = standInPython() !== null
const repo = resolve(import.meta.dir, "../../..")
useStandIns()

const L = 16
const pairs = synthSts({ pairs: 12, seed: 4 })
const exported = exportOnnx(deviceExportParams("embedding", L)).to(synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 4 }))
const vacc = pipeline("faults", exported).then(compile({ target: "vacc" })).then(deploy({}))

let dir = ""
let base: CapturedRun
const outputOf = (r: CapturedRun, id: string) => r.json.steps.find((s) => s.id === id)!.outputs.out!.path
const stepError = (r: CapturedRun, id: string) => r.json.steps.find((s) => s.id === id)?.error?.message ?? ""

beforeAll(async () => {
  dir = tempDir("kiln-vacc-faults-")
  if (numpy) base = await runCaptured(vacc, dir)
}, 120_000)
afterAll(() => cleanup(dir))

/** Runs the stand-in vamc on a YAML in a fresh work dir holding the exported model. */
const standInVamc = (yaml: string, setup: (work: string) => void = () => {}) => {
  const work = mkdtempSync(join(dir, "vamc-"))
  cpSync(join(outputOf(base, "exportOnnx"), "onnx", "model.onnx"), join(work, "model.onnx"))
  setup(work)
  writeFileSync(join(work, "cfg.yaml"), yaml)
  const r = Bun.spawnSync([standInEnvironment().KILN_VAMC!, "compile", "cfg.yaml"], { cwd: work })
  return { code: r.exitCode, stderr: r.stderr.toString(), work }
}
const yamlFor = (seqlen: number, extra = "", dtype = "fp16") => `name: m
frontend:
  checkpoint: ./model.onnx
  shape:
    input_ids: [1, ${seqlen}]
    attention_mask: [1, ${seqlen}]
    token_type_ids: [1, ${seqlen}]
backend:
  type: tvm_vacc
  dtype: ${dtype}
  compile:
    cluster_mode: 0
    data_type: 0
    output_layout: ["0:YX"]
${extra}workspace:
  path: ./vacc_deploy
`

describe.skipIf(!numpy)("vacc faults (stand-ins)", () => {
  test("the base pipeline compiles and deploys on the stand-ins", () => {
    expect(base.code).toBe(0)
    const model = JSON.parse(readFileSync(join(outputOf(base, "compile"), "vacc", "model.json"), "utf8"))
    expect(model.models).toEqual([{ seqlen: L, prefix: `vacc/${L}/mod`, config: `vacc/${L}/vamc.yaml` }])
    expect(model.tools.vamc).toContain("stand-in")
    for (const f of ["mod.so", "mod.json", "mod.params", "vamc.yaml"]) expect(existsSync(join(outputOf(base, "compile"), "vacc", String(L), f))).toBe(true)
  })

  test("tool missing: the run stops naming vamc, where it looked and the variable to set", async () => {
    const r = await withEnv({ KILN_VAMC: undefined, PATH: "/usr/bin:/bin" }, () => runCaptured(pipeline("faults", exported).then(compile({ target: "vacc" }).as("compile-missing")), dir))
    // The tool's version is part of compile's cache key, so the run stops before the step starts.
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/vamc not found: KILN_VAMC is unset and no vamc is on PATH \(\/usr\/bin:\/bin\)/)
    expect(r.stderr).toContain("set KILN_VAMC=/path/to/vamc")
    expect(r.stderr).not.toMatch(/^\s+at /m)
  }, 60_000)

  test("a YAML field the tool rejects: the stand-in exits non-zero naming the field", () => {
    const r = standInVamc(yamlFor(L).replace("dtype: fp16", "dtype: bf16"))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/cfg.yaml: backend.dtype: /)
  })

  test("a seqlen past 1024 without the attention_split_num it needs is rejected", () => {
    const r = standInVamc(yamlFor(2048))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("seqlen 2048 needs backend.compile.attention_split_num: 4 (got none)")
  })

  test("shapes that contradict the ONNX inputs are rejected", () => {
    expect(standInVamc(yamlFor(L + 8)).stderr).toContain(`frontend.shape.input_ids is [1, ${L + 8}] but the model fixes dim 1 at ${L}`)
  })

  const int8Block = `  quantize:
    calibrate_mode: percentile
    quantize_per_channel: false
    overflow_adaptive: 1
    calibrate_range: 0.99999
    weight_scale: max
    calibrate_chunk_by: -1
    exclude_layers: []
    quantize_operators: ["!_add"]
dataset:
  type: tvm
  path: ./calibration
  sampler:
    suffix: npz
    get_data_num: 2
`
  test("an empty calibration folder is rejected", () => {
    const r = standInVamc(yamlFor(L, int8Block, "int8"), (work) => mkdirSync(join(work, "calibration")))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("no .npz files to calibrate on")
  })

  test("vamc exits non-zero on calibration samples with the wrong keys: stderr tail in the error, nothing cached", async () => {
    // A quantize-step-shaped folder whose samples use CLIP's keys.
    const model = join(dir, "bad-int8")
    cpSync(outputOf(base, "exportOnnx"), model, { recursive: true })
    mkdirSync(join(model, "vamc-calibration"))
    for (let i = 0; i < 2; i++) {
      const a = { dtype: "float32" as const, shape: [1, L], data: new Float32Array(L) }
      writeNpz(join(model, "vamc-calibration", `${i}.npz`), [["input_0", a], ["input_1", a], ["input_2", a]])
    }
    const blocks = vaccQuantizeConfig({ calibrateMode: "percentile", calibrationDir: "vamc-calibration", samples: 2 })
    writeFileSync(join(model, "vamc-quantize.yaml"), renderVaccQuantizeYaml(blocks))
    const p = pipeline("faults", local("onnx-model", model, "bad-int8")).then(compile({ target: "vacc" }).as("compile-bad"))
    const r = await runCaptured(p, dir)
    expect(r.code).toBe(1)
    const message = stepError(r, "compile-bad")
    expect(message).toContain("vamc compile vamc.yaml exited with code 1; its stderr ends:")
    expect(message).toContain("keys input_0, input_1, input_2, expected input_ids, attention_mask, token_type_ids")
    const again = await runCaptured(p, dir)
    expect(again.status["compile-bad"]).toBe("failed")
  }, 60_000)

  test("the runner crashes mid-batch: an error with its stderr tail, no result cached", async () => {
    const p = pipeline("faults", outputNode()).then(embed({ batchSize: 2 }, { dataset: pairs }).as("embed-crash"))
    const r = await withEnv({ KILN_STANDIN_CRASH_AFTER: "2" }, () => runCaptured(p, dir))
    expect(r.code).toBe(1)
    const message = stepError(r, "embed-crash")
    expect(message).toMatch(/the vaststreamx runner exited \(exit code 134\); its stderr ends:/)
    expect(message).toContain("run err, err code: 803012")
    const again = await runCaptured(p, dir)
    expect(again.status["embed-crash"]).toBe("ran")
  }, 60_000)

  test("set_device fails when the die is busy: the error names the die and set_device", async () => {
    const error = await withEnv({ KILN_STANDIN_BUSY_DEVICES: "0,1" }, () => openDeploymentSession(outputOf(base, "deploy")).then(() => undefined, (e: Error) => e))
    expect(error?.message).toMatch(/vaststreamx runner on die \d: vsx.set_device\(\d\) returned -1: the die is missing or busy/)
    expect((error as { reason?: string }).reason).toBe("device-unavailable")
  }, 30_000)

  test("no die visible: the error names the device dir and VACC_VISIBLE_DEVICES", async () => {
    const error = await withEnv({ VACC_VISIBLE_DEVICES: "7" }, () => openDeploymentSession(outputOf(base, "deploy")).then(() => undefined, (e: Error) => e))
    expect(error?.message).toMatch(/^no VastAI die found: no vastai<N>_version under \S+\/dev among VACC_VISIBLE_DEVICES=7$/)
    expect((error as { reason?: string }).reason).toBe("device-unavailable")
  }, 30_000)

  const embedOne = async () => {
    const session = await openDeploymentSession(outputOf(base, "deploy"))
    try {
      const feed = { dtype: "int32" as const, dims: [1, 4], data: Int32Array.from([0, 7, 8, 2]) }
      const mask = { dtype: "int32" as const, dims: [1, 4], data: Int32Array.from([1, 1, 1, 1]) }
      const types = { dtype: "int32" as const, dims: [1, 4], data: new Int32Array(4) }
      return await session.pool.run({ feeds: { input_ids: feed, attention_mask: mask, token_type_ids: types }, fetches: ["cls"] }).then(() => undefined, (e: Error) => e)
    } finally {
      await session.close()
    }
  }

  test("the runner's output 0 keeps a batch dimension ([1, L, hidden]): refused naming the shape, not read as CLS", async () => {
    const error = await withEnv({ KILN_STANDIN_OUTPUT_LAYOUT: "batched" }, embedOne)
    expect(error?.message).toBe(`vaststreamx runner: sample 0: output 0 has shape [1, ${L}, 32]; expected rank 2 ([L, hidden] or [1, W])`)
  }, 30_000)

  test("the runner's output 0 is [hidden, L]: rows of the wrong width are refused, naming the expected layout", async () => {
    const error = await withEnv({ KILN_STANDIN_OUTPUT_LAYOUT: "transposed" }, embedOne)
    expect(error?.message).toBe(`vaststreamx runner: output 0 gave rows ${L} wide at seqlen ${L}; expected 32 (the hidden size: per-sample output 0 read as [L, hidden])`)
    expect((error as { reason?: string }).reason).toBe("bad-output")
  }, 30_000)

  test("vamp output cut short: the bench step fails naming the line, nothing cached", async () => {
    // A vamp that prints the vendor's block up to "e2e latency (us):" and stops (as on a crash mid-print).
    const fake = join(dir, "vamp-truncated")
    writeFileSync(
      fake,
      `#!/bin/sh
if [ "$1" = "--version" ]; then echo "vamp 9.9.9 (kiln test fake, truncating)"; exit 0; fi
printf 'number of samples in each process: 4\nnumber of process:1\n\n- number of instances in each device: 1\ndevices: [0]\nbatch size: 1\nsamples: 4\nforwad time (s): 0.1\nthroughput (qps): 40.0\nai utilize (%%): 50.0\ndie memory used (MB): 10.00\ne2e latency (us):\n    avg latency: 2500\n'
`,
      { mode: 0o755 },
    )
    const p = pipeline("faults", outputNode()).then(bench({ batch: [1], iterations: 4 }, { dataset: pairs }).as("bench-truncated"))
    const r = await withEnv({ KILN_VAMP: fake }, () => runCaptured(p, dir))
    expect(r.code).toBe(1)
    expect(stepError(r, "bench-truncated")).toMatch(/vamp output ends at line 13 before "min latency: <µs>" \(truncated output\)/)
    const again = await withEnv({ KILN_VAMP: fake }, () => runCaptured(p, dir))
    expect(again.status["bench-truncated"]).toBe("failed")
  }, 60_000)

  test("an input longer than every compiled seqlen is refused, naming the seqlens", async () => {
    const session = await openDeploymentSession(outputOf(base, "deploy"))
    try {
      const n = L + 4
      const feed = { dtype: "int32" as const, dims: [1, n], data: new Int32Array(n).fill(5) }
      const error = await session.pool.run({ feeds: { input_ids: feed, attention_mask: feed, token_type_ids: feed }, fetches: ["cls"] }).then(() => undefined, (e: Error) => e)
      expect(error?.message).toBe(`an input of ${n} tokens is longer than every compiled seqlen (${L})`)
    } finally {
      await session.close()
    }
  }, 30_000)

  describe("Ctrl-C", () => {
    const writeFile = (name: string) => {
      mkdirSync(join(repo, ".work"), { recursive: true })
      const own = mkdtempSync(join(repo, ".work", "vacc-ctrlc-"))
      const file = join(own, `${name}.ts`)
      writeFileSync(
        file,
        `import { main } from "${repo}/src/cli/index.ts"
import { pipeline } from "${repo}/src/engine/index.ts"
import { bench, compile, deploy, embed, exportOnnx, synthCheckpoint, synthSts } from "${repo}/stdlib/index.ts"
import { deviceExportParams } from "${repo}/src/targets/index.ts"
const exported = exportOnnx(deviceExportParams("embedding", ${L})).to(synthCheckpoint({ arch: "xlm-roberta", size: "tiny", task: "embedding", seed: 4 }))
export default main(import.meta, pipeline("ctrlc", exported).then(compile({ target: "vacc" })).then(deploy({})).then(embed({}, { dataset: synthSts({ pairs: 12, seed: 4 }) })))
`,
      )
      return { file, own }
    }
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    const interrupt = async (tool: "vamc" | "vsx", extra: Record<string, string>) => {
      const { file, own } = writeFile(tool)
      const pidfile = join(own, "pids.txt")
      const proc = Bun.spawn(["bun", "run", file, "--cache-dir", join(dir, "cache")], { env: { ...process.env, ...standInEnvironment(), KILN_STANDIN_PIDFILE: pidfile, ...extra }, stdout: "pipe", stderr: "pipe" })
      const until = Date.now() + 60_000
      const pidOf = () => (existsSync(pidfile) ? readFileSync(pidfile, "utf8").split("\n").find((l) => l.startsWith(`${tool} `)) : undefined)
      while (pidOf() === undefined && Date.now() < until) await Bun.sleep(50)
      const pid = Number(pidOf()!.split(" ")[1])
      await Bun.sleep(300)
      proc.kill("SIGINT")
      const code = await proc.exited
      await Bun.sleep(200)
      cleanup(own)
      return { code, pid }
    }

    test("while vamc runs: kiln exits 130, vamc is gone, no temp dir is left", async () => {
      const { code, pid } = await interrupt("vamc", { KILN_STANDIN_VAMC_DELAY_MS: "60000" })
      expect(code).toBe(130)
      expect(alive(pid)).toBe(false)
      expect(readdirSync(join(dir, "cache", "tmp"))).toEqual([])
    }, 90_000)

    test("while the runner runs a batch: kiln exits 130, the runner is gone, no temp dir is left", async () => {
      const { code, pid } = await interrupt("vsx", { KILN_STANDIN_RUN_DELAY_MS: "60000" })
      expect(code).toBe(130)
      expect(alive(pid)).toBe(false)
      expect(readdirSync(join(dir, "cache", "tmp"))).toEqual([])
    }, 90_000)
  })
})

/** The base pipeline's deployment as a source node (so fault pipelines do not rebuild it). */
const outputNode = () => local("deployment", outputOf(base, "deploy"), "vacc-deployment")
