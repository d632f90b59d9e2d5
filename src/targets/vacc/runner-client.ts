// kiln's side of the vaststreamx runner (runner/vsx_runner.py): starts it as a scoped child process
// through effect/process (closing the scope — or interrupting the run — kills it), waits for its
// ready frame, then sends token batches and reads CLS rows / logits back over the length-prefixed
// binary protocol the runner documents. A runner that dies fails the request in flight with its
// exit code and the tail of its stderr.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ChildProcess } from "effect/process"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import { TargetError } from "../errors.ts"
import { ByteReader, TailBuffer } from "./byte-reader.ts"
// A file import: the path of the script, and its bytes in the code digest of every step that can
// start it (a runner change re-keys the evaluations that ran through it).
import runnerScript from "./runner/vsx_runner.py" with { type: "file" }

export const RUNNER_SCRIPT: string = runnerScript
const MAGIC = 0x4b565231
const OP_RUN = 1
const OP_QUIT = 2

export interface RunnerOptions {
  /** A Python that imports vaststreamx. */
  readonly python: string
  readonly device: number
  /** Samples per run_sync (vsx.Model's batch size). */
  readonly batch: number
  /** One compiled model per seqlen: the prefix <dir>/mod. */
  readonly models: readonly { readonly seqlen: number; readonly prefix: string }[]
  readonly env?: Readonly<Record<string, string>>
}

export interface RunnerReply {
  readonly rows: number
  /** hidden for embedders (the CLS row), 1 for rerankers. */
  readonly width: number
  readonly data: Float32Array
  /** Time inside run_sync, µs. */
  readonly micros: number
}

export interface Runner {
  readonly seqlens: readonly number[]
  readonly batch: number
  /** Rows × seqlen int32 arrays, seqlen being one of `seqlens`. One request at a time is sent; others queue. */
  run(rows: number, seqlen: number, ids: Int32Array, mask: Int32Array, types: Int32Array): Promise<RunnerReply>
}

const crashed = (message: string, stderr: TailBuffer, exit: string) =>
  new TargetError({
    target: "vacc",
    reason: "runner-crashed",
    message: `${message} (${exit})${stderr.text() ? `; its stderr ends:\n${stderr.text()}` : ""}`,
    hint: "the vaststreamx runner died; check the die (kiln doctor) and the runtime's log above",
  })

const u32s = (...values: number[]) => new Uint8Array(Uint32Array.from(values).buffer)

/** Starts the runner in the current scope; fails with TargetError when it cannot load the models. */
export const openRunner = (options: RunnerOptions): Effect.Effect<Runner, TargetError, Scope.Scope | ChildProcessSpawner> =>
  Effect.gen(function* () {
    const args = [RUNNER_SCRIPT, "--device", String(options.device), "--batch", String(options.batch), ...options.models.flatMap((m) => ["--model", `${m.seqlen}=${m.prefix}`])]
    const handle = yield* ChildProcess.make(options.python, args, { env: { ...options.env }, extendEnv: true, forceKillAfter: "2 seconds" }).pipe(
      Effect.mapError((cause) => new TargetError({ target: "vacc", reason: "tool-failed", message: `cannot start the vaststreamx runner with ${options.python}: ${cause.message}`, cause })),
    )
    const input = yield* Queue.unbounded<Uint8Array, Cause.Done>()
    const stdout = new ByteReader()
    const stderr = new TailBuffer()
    let exit = "still running"
    yield* Effect.forkScoped(Stream.run(Stream.fromQueue(input), handle.stdin).pipe(Effect.ignore))
    yield* Effect.forkScoped(Stream.runForEach(handle.stderr, (chunk) => Effect.sync(() => stderr.push(chunk))).pipe(Effect.ignore))
    yield* Effect.forkScoped(
      Stream.runForEach(handle.stdout, (chunk) => Effect.sync(() => stdout.push(chunk))).pipe(
        Effect.ignore,
        Effect.andThen(handle.exitCode.pipe(Effect.map((code) => `exit code ${code}`), Effect.orElseSucceed(() => "exit code unknown"))),
        Effect.tap((how) => Effect.sync(() => void (exit = how))),
        // Also when the scope closes under a request (the fiber is interrupted, the runner killed):
        // a read still waiting for its reply fails instead of waiting forever.
        Effect.ensuring(Effect.sync(() => stdout.end(() => crashed(exit === "still running" ? "the vaststreamx runner was stopped: its session closed" : "the vaststreamx runner exited", stderr, exit)))),
      ),
    )
    // Ask the runner to leave before the scope kills it.
    yield* Effect.addFinalizer(() => Queue.offer(input, new Uint8Array([...u32s(MAGIC, OP_QUIT, 0, 0)])).pipe(Effect.andThen(Queue.end(input)), Effect.ignore))

    const ready = yield* Effect.tryPromise({
      try: async () => {
        const head = new DataView((await stdout.read(12)).buffer)
        if (head.getUint32(0, true) !== MAGIC) throw crashed("the vaststreamx runner did not start the protocol (bad magic)", stderr, exit)
        const status = head.getUint32(4, true)
        const json = JSON.parse(new TextDecoder().decode(await stdout.read(head.getUint32(8, true)))) as { seqlens?: number[]; error?: string }
        return { status, json }
      },
      catch: (e) => (e instanceof TargetError ? e : crashed(`the vaststreamx runner failed to start: ${(e as Error).message}`, stderr, exit)),
    })
    if (ready.status !== 0) {
      const busy = /set_device/.test(ready.json.error ?? "")
      return yield* new TargetError({
        target: "vacc",
        reason: busy ? "device-unavailable" : "tool-failed",
        message: `vaststreamx runner on die ${options.device}: ${ready.json.error ?? "failed without a reason"}${stderr.text() ? `; stderr:\n${stderr.text()}` : ""}`,
        hint: busy ? "another process holds the die, or it does not exist: pick others with --devices / VACC_VISIBLE_DEVICES (kiln doctor lists them)" : "check the compiled models and the vaststreamx install (kiln doctor)",
      })
    }
    const seqlens = ready.json.seqlens ?? []

    let chain: Promise<unknown> = Promise.resolve()
    const once = async (rows: number, seqlen: number, ids: Int32Array, mask: Int32Array, types: Int32Array): Promise<RunnerReply> => {
      const n = rows * seqlen
      if (ids.length !== n || mask.length !== n || types.length !== n) throw new TargetError({ target: "vacc", reason: "bad-input", message: `runner request: arrays must hold ${rows} × ${seqlen} values` })
      const frame = new Uint8Array(16 + n * 12)
      frame.set(u32s(MAGIC, OP_RUN, rows, seqlen), 0)
      frame.set(new Uint8Array(ids.buffer, ids.byteOffset, n * 4), 16)
      frame.set(new Uint8Array(mask.buffer, mask.byteOffset, n * 4), 16 + n * 4)
      frame.set(new Uint8Array(types.buffer, types.byteOffset, n * 4), 16 + n * 8)
      Queue.offerUnsafe(input, frame)
      const status = new DataView((await stdout.read(4)).buffer).getUint32(0, true)
      if (status !== 0) {
        const length = new DataView((await stdout.read(4)).buffer).getUint32(0, true)
        throw new TargetError({ target: "vacc", reason: "bad-input", message: `vaststreamx runner: ${new TextDecoder().decode(await stdout.read(length))}` })
      }
      const head = new DataView((await stdout.read(16)).buffer)
      const outRows = head.getUint32(0, true)
      const width = head.getUint32(4, true)
      const micros = head.getFloat64(8, true)
      const data = new Float32Array((await stdout.read(outRows * width * 4)).buffer)
      return { rows: outRows, width, data, micros }
    }
    return {
      seqlens,
      batch: options.batch,
      run(rows, seqlen, ids, mask, types) {
        const next = chain.then(() => once(rows, seqlen, ids, mask, types))
        chain = next.catch(() => undefined)
        return next
      },
    }
  })
