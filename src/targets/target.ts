// The Target seam: what a backend that runs kiln's models implements — compile a model folder,
// deploy it, open a deployment as a session that Embedder / Reranker use, and benchmark it — and
// the `Targets` service that hands the registered ones to steps. Nothing outside a target's folder
// names its tools; steps only say `target: "cpu" | "vacc" | … | "auto"`.
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import type { z } from "zod"
import type { BundleSession } from "../runtime/index.ts"
import type { BenchReport } from "./bench-report.ts"
import type { TargetError } from "./errors.ts"

/** What running a target's effects may need: a scope (temp dirs, child processes) and a process spawner. */
export type TargetServices = Scope.Scope | ChildProcessSpawner

export interface TargetLog {
  readonly log: (line: string) => Effect.Effect<void>
}

export interface CompileRequest extends TargetLog {
  /** An "onnx-model" folder (kiln.json, onnx/, tokenizer files). */
  readonly modelDir: string
  readonly outDir: string
  /** Scratch space, removed after the step. */
  readonly tmpDir: string
  /** The compile step's params; the target reads the fields it declared in `compileParams`. */
  readonly params: Readonly<Record<string, unknown>>
}

export interface DeployParams {
  readonly instruction?: string | undefined
  readonly maxLength?: number | undefined
  readonly threads?: number | undefined
}

export interface DeployRequest extends TargetLog {
  /** A folder this target's compile wrote. */
  readonly modelDir: string
  readonly outDir: string
  readonly params: DeployParams
}

export interface SessionOptions {
  readonly threads?: number
  readonly instances?: number
  /** Keep inference off the caller's thread even for one instance (a server); targets whose sessions run elsewhere already (a runner process) ignore it. */
  readonly workers?: boolean
}

export interface BenchParams {
  readonly batch: readonly number[]
  readonly instances: readonly number[]
  readonly threads: number
  readonly warmup: number
  readonly seconds: number
  readonly iterations?: number | undefined
}

export interface BenchRequest extends TargetLog {
  readonly deploymentDir: string
  readonly tmpDir: string
  /** Texts for embedders, (query, passage) pairs for rerankers; the target picks by the deployment's task. */
  readonly texts: readonly string[]
  readonly pairs: readonly (readonly [string, string])[]
  readonly params: BenchParams
}

export interface Availability {
  readonly available: boolean
  /** One line: what was found, or what is missing. */
  readonly summary: string
}

export interface Target {
  readonly name: string
  /** The resource class of steps that run this target's deployments ("device": one step per die). */
  readonly resources: "cpu" | "device"
  /** Fields this target adds to the compile step's params (merged into one object; names must not collide). */
  readonly compileParams: z.ZodRawShape
  /** Whether it can run here; "auto" picks the first available target after the default one. */
  readonly availability: () => Availability
  /** Tool versions (and what else results depend on): part of the cache key of steps using it. */
  readonly fingerprint: () => Record<string, string>
  /** Whether a model folder / a deployment folder was written by this target. */
  readonly ownsModel: (dir: string) => boolean
  readonly ownsDeployment: (dir: string) => boolean
  readonly compile: (request: CompileRequest) => Effect.Effect<void, TargetError, TargetServices>
  readonly deploy: (request: DeployRequest) => Effect.Effect<{ readonly task: string; readonly files: number }, TargetError, TargetServices>
  /** A session Embedder.fromSession / Reranker.fromSession take; released with the scope. */
  readonly openSession: (deploymentDir: string, options: SessionOptions) => Effect.Effect<BundleSession, TargetError, TargetServices>
  /** The report, and the measurement as vamp prints it (vamp's own output on vacc). */
  readonly bench: (request: BenchRequest) => Effect.Effect<{ readonly report: BenchReport; readonly text: string }, TargetError, TargetServices>
  /** Lines `kiln doctor` prints for this target. */
  readonly doctor: () => readonly string[]
}

export class Targets extends Context.Service<Targets, { readonly all: readonly Target[] }>()("kiln/Targets") {}
