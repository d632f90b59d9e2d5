// What a defined step is to the runtime, with its static types erased: the artifact kinds it
// takes and makes, its resource class, what of the environment its output depends on, and the
// context its `run` sees. `step.ts` builds these from typed specs; nodes and the runtime read them.
import type * as Effect from "effect/Effect"
import type { FileSystem } from "effect/FileSystem"
import type { Path } from "effect/Path"
import type { z } from "zod"
import type { Reproducibility } from "./reproducibility.ts"

/** An artifact kind, e.g. "hf-checkpoint", "onnx-model". Kinds are compared by name at compile time. */
export type Kind = string

/**
 * Resource classes bound how many steps of a class run at once:
 *   cpu       — CPU-heavy work, `--jobs` at once
 *   io        — mostly reading and writing files, twice `--jobs`
 *   device    — an accelerator die: one step per die (--devices, default one)
 *   exclusive — nothing else runs while it holds it (measurements: a benchmark must not share the CPU)
 */
export type ResourceClass = "cpu" | "io" | "device" | "exclusive"

/** An input artifact handed to a running step: a readable path and its tree digest. */
export interface ArtifactInput {
  readonly path: string
  readonly digest: string
}

/** What a running step sees. Everything it writes under `outDir` becomes its output artifact. */
export interface StepContext<P, In extends Record<string, Kind>> {
  readonly nodeId: string
  readonly params: P
  readonly inputs: { readonly [K in keyof In]: ArtifactInput }
  /** Empty directory for the step's output tree; committed to the cache when `run` succeeds. */
  readonly outDir: string
  /** Scratch directory, removed when the step ends. */
  readonly tmpDir: string
  /** Aborted when the run is interrupted (Ctrl-C) or the step's fiber is stopped: pass it to library loops. */
  readonly signal: AbortSignal
  /** Appends a line to the step's log (stored with the cache entry). */
  readonly log: (line: string) => Effect.Effect<void>
  /** Reports progress; renderers draw a bar and an ETA. */
  readonly progress: (done: number, total: number) => Effect.Effect<void>
}

/** Services every run provides to its steps; further services come from the run's own layers. */
export type StepServices = FileSystem | Path

/**
 * The error a step may fail with: a tagged error carrying a message (naming the file, field or
 * tensor) and optionally a hint; the runtime renders both. Each module defines its own.
 */
export interface StepFailure {
  readonly _tag: string
  readonly message: string
  readonly hint?: string | undefined
}

/** A defined step with its types erased, as the runtime sees it. */
export interface AnyStep {
  readonly name: string
  readonly version: number
  readonly params: z.ZodType
  readonly inputs: Record<string, Kind>
  readonly main: string | undefined
  readonly output: Kind
  /**
   * Called with the step's resolved params and its input folders (a target param, or the target
   * that made an input folder, picks whose tool versions count). May throw a step failure (a tool
   * it must key on is missing): the node fails with it, or a dry run says so.
   */
  readonly fingerprint: ((params: any, inputs: Readonly<Record<string, string>>) => Record<string, string>) | undefined
  /** A class, or one chosen by the resolved params and input folders (e.g. "device" when the step runs on an accelerator). */
  readonly resources: ResourceClass | ((params: any, inputs: Readonly<Record<string, string>>) => ResourceClass)
  /** How the output relates to the machine: portable, host-bound or a measurement (reproducibility.ts). */
  readonly reproducible: Reproducibility
  /** Where it runs (a target name), from params and input paths; for summaries, not the key. */
  readonly runsOn: ((params: any, inputs: Readonly<Record<string, string>>) => string) | undefined
  /** Absolute path of the module that defines the step; its import closure is the step's code. */
  readonly module: string | undefined
  readonly run: (ctx: StepContext<any, any>) => Effect.Effect<void, StepFailure, any>
}
