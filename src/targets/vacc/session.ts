// A vacc deployment as a session: the runner on one die serves every batch, on the smallest compiled
// seqlen that holds the batch's longest row (texts are truncated to the largest at tokenization, as
// the vendor's xinference backend does — but results stay in the caller's order and embeddings are
// the CLS row L2-normalised, not its sigmoid). Embedder.fromSession / Reranker.fromSession take it.
import { join } from "node:path"
import * as Effect from "effect/Effect"
import { makeBundleSession, type RunRequest, type RunResult, type SessionConfig, type SessionPool } from "../../runtime/index.ts"
import { loadTokenizer } from "../../tokenize/index.ts"
import { TargetError } from "../errors.ts"
import { acquireDie } from "./die-pool.ts"
import type { VaccToolchain } from "./discovery.ts"
import { readVaccJson, VACC_DEPLOYMENT_FILE, VaccDeployment } from "./manifests.ts"
import { openRunner, type Runner } from "./runner-client.ts"

/** The smallest compiled seqlen ≥ length; undefined when every one is shorter. */
export const pickSeqlen = (seqlens: readonly number[], length: number): number | undefined => [...seqlens].sort((a, b) => a - b).find((l) => l >= length)

const int32Feed = (request: RunRequest, name: string): Int32Array => {
  const feed = request.feeds[name]
  if (feed === undefined || !(feed.data instanceof Int32Array)) throw new TargetError({ target: "vacc", reason: "bad-input", message: `vacc session: feed "${name}" must be int32` })
  return feed.data
}

/** What each row of the runner's reply must be: the CLS vector (hidden wide) or a reranker's one logit. */
export interface ExpectedOutput {
  readonly name: string
  readonly width: number
}

/** Runs a token batch on the runner: picks the seqlen, pads rows to it, splits by the runner's batch. */
export const runOnRunner = async (runner: Runner, request: RunRequest, padId: number, output: ExpectedOutput): Promise<RunResult> => {
  const [rows, length] = request.feeds.input_ids!.dims as [number, number]
  const seqlen = pickSeqlen(runner.seqlens, length)
  if (seqlen === undefined)
    throw new TargetError({ target: "vacc", reason: "bad-input", message: `an input of ${length} tokens is longer than every compiled seqlen (${runner.seqlens.join(", ")})`, hint: "compile a longer seqlen, or truncate inputs to the largest" })
  const [ids, mask, types] = ["input_ids", "attention_mask", "token_type_ids"].map((n) => int32Feed(request, n)) as [Int32Array, Int32Array, Int32Array]
  let width = 0
  let data = new Float32Array(0)
  let micros = 0
  for (let start = 0; start < rows; start += runner.batch) {
    const count = Math.min(runner.batch, rows - start)
    const padded = [new Int32Array(count * seqlen).fill(padId), new Int32Array(count * seqlen), new Int32Array(count * seqlen)] as const
    for (let r = 0; r < count; r++) {
      const from = (start + r) * length
      padded[0].set(ids.subarray(from, from + length), r * seqlen)
      padded[1].set(mask.subarray(from, from + length), r * seqlen)
      padded[2].set(types.subarray(from, from + length), r * seqlen)
    }
    const reply = await runner.run(count, seqlen, ...padded)
    // A wrong guess about the card's output layout (e.g. [hidden, L] per sample instead of the
    // [L, hidden] that output_layout "0:YX" asks for) shows up here as rows of the wrong width.
    if (reply.width !== output.width)
      throw new TargetError({
        target: "vacc",
        reason: "bad-output",
        message: `vaststreamx runner: output 0 gave rows ${reply.width} wide at seqlen ${seqlen}; expected ${output.width} (${output.name === "logits" ? "one logit per pair" : "the hidden size: per-sample output 0 read as [L, hidden]"})`,
        hint: "the compiled model's output is not laid out as kiln compiled it (output_layout 0:YX for embedders); recompile with this kiln, or report the shape vaststreamx returns",
      })
    if (width === 0) {
      width = reply.width
      data = new Float32Array(rows * width)
    }
    data.set(reply.data, start * width)
    micros += reply.micros
  }
  return { outputs: { [output.name]: { dims: [rows, width], data } }, modelMicros: micros }
}

export const openVaccSession = (dir: string, toolchain: VaccToolchain, env: Readonly<Record<string, string>>) =>
  Effect.gen(function* () {
    const d = yield* Effect.try({ try: () => readVaccJson(VaccDeployment, dir, VACC_DEPLOYMENT_FILE), catch: (e) => e as TargetError })
    const die = yield* acquireDie(toolchain.devices)
    const runner = yield* openRunner({ python: toolchain.python.path, device: die, batch: d.batch, models: d.models.map((m) => ({ seqlen: m.seqlen, prefix: join(dir, m.prefix) })), env })
    const tokenizer = yield* Effect.tryPromise({
      try: () => loadTokenizer(dir, { maxLength: d.maxLength }),
      catch: (cause) => new TargetError({ target: "vacc", reason: "bad-input", message: `${dir}: ${(cause as Error).message}`, cause }),
    })
    const reranker = d.task === "reranker"
    const outputName = reranker ? "logits" : "cls"
    const config: SessionConfig = {
      engine: "vacc",
      task: d.task,
      io: {
        inputs: [
          { name: "input_ids", role: "input_ids", dtype: "int32" },
          { name: "attention_mask", role: "attention_mask", dtype: "int32" },
          { name: "token_type_ids", role: "token_type_ids", dtype: "int32" },
        ],
        outputs: reranker ? { logits: outputName } : { dense: outputName },
        batch: null,
      },
      // Rows are padded to the batch's longest here and to a compiled seqlen by runOnRunner.
      seqlen: null,
      maxLength: d.maxLength,
      hiddenSize: d.hiddenSize,
      pooling: reranker ? null : "cls",
      pooledInGraph: !reranker,
      normalize: d.normalize,
      normalizedInGraph: false,
      instruction: d.instruction,
    }
    const runs = [0]
    let closed = false
    const pool: SessionPool = {
      instances: 1,
      threadsPerInstance: 1,
      runsPerInstance: runs,
      run: (request) => {
        if (closed) return Promise.reject(new TargetError({ target: "vacc", reason: "bad-input", message: `${dir}: the session is closed` }))
        runs[0]! += 1
        return runOnRunner(runner, request, tokenizer.padTokenId, { name: outputName, width: reranker ? 1 : d.hiddenSize })
      },
      // The runner goes with the scope that opened it.
      close: async () => void (closed = true),
    }
    return makeBundleSession(dir, config, tokenizer, pool)
  })
