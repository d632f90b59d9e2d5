// Writes a step's JSON report (eval.json, bench.json) into its output directory, pretty-printed
// with a trailing newline so reports diff cleanly.
import { join } from "node:path"
import * as Effect from "effect/Effect"

export const writeJson = (dir: string, file: string, data: unknown) => Effect.promise(() => Bun.write(join(dir, file), JSON.stringify(data, null, 2) + "\n"))
