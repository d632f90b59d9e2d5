// Runs one of the vendor's command-line tools (vamc, vamp) as a scoped child process through
// effect/process: in a given working directory, with the environment the vendor's docs set, its
// output lines going to the step log. Interrupting the effect (Ctrl-C) kills the process; a non-zero
// exit is a TargetError carrying the tail of its stderr.
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ChildProcess } from "effect/process"
import type { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import { TargetError } from "../errors.ts"
import { TailBuffer } from "./byte-reader.ts"

export interface ToolRun {
  readonly stdout: string
  readonly stderr: string
}

export const runTool = (
  tool: string,
  executable: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: Readonly<Record<string, string>>; readonly log: (line: string) => Effect.Effect<void>; readonly hint: string },
): Effect.Effect<ToolRun, TargetError, ChildProcessSpawner> =>
  Effect.scoped(
    Effect.gen(function* () {
      const handle = yield* ChildProcess.make(executable, [...args], { cwd: options.cwd, env: { ...options.env }, extendEnv: true, forceKillAfter: "2 seconds" }).pipe(
        Effect.mapError((cause) => new TargetError({ target: "vacc", reason: "tool-failed", message: `cannot start ${tool} (${executable}): ${cause.message}`, cause })),
      )
      const tail = new TailBuffer(8192)
      const decoder = new TextDecoder()
      let stdout = ""
      let stderr = ""
      const collect = (stream: Stream.Stream<Uint8Array, unknown>, onText: (text: string) => void) =>
        Stream.runForEach(stream, (chunk) =>
          Effect.gen(function* () {
            const text = decoder.decode(chunk, { stream: true })
            onText(text)
            for (const line of text.split("\n")) if (line.trim() !== "") yield* options.log(`${tool}: ${line}`)
          }),
        ).pipe(Effect.ignore)
      const [, , code] = yield* Effect.all(
        [
          collect(handle.stdout, (t) => void (stdout += t)),
          collect(handle.stderr, (t) => {
            stderr += t
            tail.push(new TextEncoder().encode(t))
          }),
          handle.exitCode,
        ],
        { concurrency: "unbounded" },
      ).pipe(Effect.mapError((cause) => new TargetError({ target: "vacc", reason: "tool-failed", message: `${tool}: ${cause.message}`, cause })))
      if (code !== 0) {
        return yield* new TargetError({
          target: "vacc",
          reason: "tool-failed",
          message: `${tool} ${args.join(" ")} exited with code ${code}${tail.text() ? `; its stderr ends:\n${tail.text()}` : " and printed nothing on stderr"}`,
          hint: options.hint,
        })
      }
      return { stdout, stderr }
    }),
  )
