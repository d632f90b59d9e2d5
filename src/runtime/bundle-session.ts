// A loaded deployment bundle: runtime.json, its tokenizer and a pool of ORT sessions, plus the
// batch loop Embedder and Reranker share (sort by length, pad per batch, scatter back by index).
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { loadTokenizer, type TextTokenizer, type TokenBatch } from "../tokenize/index.ts"
import { gatherRows, longestRow, planBatches } from "./batching.ts"
import { cpuFingerprint, hostMismatch } from "./cpu-fingerprint.ts"
import { RuntimeError } from "./errors.ts"
import { toRunRequest } from "./feeds.ts"
import type { RunRequest, RunResult } from "./model-session.ts"
import { readRuntimeConfig, type RuntimeConfig } from "./runtime-config.ts"
import { openSessionPool, type SessionPool, type SessionPoolOptions } from "./session-pool.ts"

export interface LoadOptions extends SessionPoolOptions {
  /** Run a level-"all" graph even though it was optimised on another ORT version or CPU. */
  readonly allowForeignHost?: boolean
}

/**
 * What the batch loop, Embedder and Reranker need to know about a deployment, whichever target runs
 * it: runtime.json for ONNX Runtime bundles, or a target's own deployment file (src/targets).
 */
export type SessionConfig = Pick<RuntimeConfig, "task" | "io" | "seqlen" | "maxLength" | "hiddenSize" | "pooling" | "pooledInGraph" | "normalize" | "normalizedInGraph" | "instruction"> & {
  /** "onnxruntime", or the target that runs the deployment. */
  readonly engine: string
}

export interface BundleSession {
  readonly dir: string
  readonly config: SessionConfig
  readonly tokenizer: TextTokenizer
  readonly pool: SessionPool
  /**
   * Runs every row of `tokens` in batches of `batchSize` (a fixed batch dimension wins), sorted by
   * length for dynamic shapes; `consume` gets each batch's source row indices, the packed batch
   * and its outputs, in completion order. An aborted `signal` stops it before the next batch
   * (batches already running finish), throwing the signal's AbortError.
   */
  runBatches(
    tokens: TokenBatch,
    batchSize: number,
    fetches: readonly string[],
    consume: (rows: readonly number[], packed: TokenBatch, result: RunResult) => void,
    signal?: AbortSignal,
  ): Promise<void>
  /** The request for exactly these rows, padded the way this bundle runs them (for benchmarks). */
  request(tokens: TokenBatch, fetches: readonly string[]): RunRequest
  close(): Promise<void>
}

/** Texts are tokenized in windows of this many so memory stays bounded for large inputs. */
export const tokenizeWindow = 8192

export const openBundleSession = async (bundleDir: string, options: LoadOptions = {}): Promise<BundleSession> => {
  const dir = resolve(bundleDir)
  const config = readRuntimeConfig(dir)
  const modelPath = join(dir, config.model)
  for (const file of [config.model, ...(config.externalData ? [config.externalData] : [])]) {
    if (!existsSync(join(dir, file))) throw new RuntimeError("invalid-bundle", `${join(dir, "runtime.json")}: names ${file}, which is missing from the bundle`, { path: join(dir, file) })
  }
  if (config.compiledFor !== null && !options.allowForeignHost) {
    const why = hostMismatch(config.compiledFor, cpuFingerprint())
    if (why !== undefined) {
      throw new RuntimeError("incompatible-host", `${dir}: the graph was saved at optimisation level "all" and is tied to its host: ${why}; re-run compile on this machine (or load with allowForeignHost)`, { path: dir })
    }
  }
  const tokenizer = await loadTokenizer(join(dir, config.tokenizer), { maxLength: config.maxLength })
  const pool = await openSessionPool(modelPath, config.sessionOptions, options)
  return makeBundleSession(dir, config, tokenizer, pool)
}

/** A session over any pool that runs token batches: ONNX Runtime's, or a target's (src/targets). */
export const makeBundleSession = (dir: string, config: SessionConfig, tokenizer: TextTokenizer, pool: SessionPool): BundleSession => {
  const fixedBatch = config.io.batch
  const pack = (tokens: TokenBatch, rows: readonly number[]): TokenBatch =>
    gatherRows(tokens, rows, config.seqlen ?? longestRow(tokens, rows), tokenizer.padTokenId, fixedBatch ?? rows.length)

  return {
    dir,
    config,
    tokenizer,
    pool,
    async runBatches(tokens, batchSize, fetches, consume, signal) {
      const plan = planBatches(tokens.lengths, fixedBatch ?? batchSize, config.seqlen === null)
      // One batch in flight per session (what the pool can run at once), each lane taking the next
      // batch when its last returns — so an abort leaves at most one batch per session running.
      let next = 0
      await Promise.all(
        Array.from({ length: Math.min(pool.instances, plan.length) }, async () => {
          while (next < plan.length) {
            signal?.throwIfAborted()
            const rows = plan[next++]!
            const packed = pack(tokens, rows)
            consume(rows, packed, await pool.run(toRunRequest(packed, config.io.inputs, fetches)))
          }
        }),
      )
    },
    request(tokens, fetches) {
      const rows = Array.from({ length: tokens.dims[0] }, (_, i) => i)
      if (fixedBatch !== null && rows.length !== fixedBatch) {
        throw new RuntimeError("invalid-input", `${dir}: the graph's batch dimension is fixed at ${fixedBatch}, got a batch of ${rows.length}`, { path: dir })
      }
      return toRunRequest(pack(tokens, rows), config.io.inputs, fetches)
    },
    close: () => pool.close(),
  }
}
