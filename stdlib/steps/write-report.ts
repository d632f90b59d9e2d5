// Writes a step's report file (eval.json, bench.json, vamp.txt) into its output directory; JSON
// pretty-printed with a trailing newline so reports diff cleanly. A failed write is the step's error.
import { join } from "node:path"
import { attempt, type StepErrorClass } from "./attempt.ts"

export const writeText = <E>(failure: StepErrorClass<E>, dir: string, file: string, text: string) =>
  attempt(failure, async () => {
    await Bun.write(join(dir, file), text)
  })

export const writeJson = <E>(failure: StepErrorClass<E>, dir: string, file: string, data: unknown) => writeText(failure, dir, file, JSON.stringify(data, null, 2) + "\n")
