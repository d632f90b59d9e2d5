// A process for tests that holds one key lock until it is killed:
//   bun run src/cache/testing/hold-key-lock.ts <locks dir> <key>   (prints "held" once it has it)
import * as Effect from "effect/Effect"
import { acquireKeyLock } from "../key-lock.ts"

const [dir, key] = process.argv.slice(2)
if (dir === undefined || key === undefined) {
  process.stderr.write("usage: hold-key-lock.ts <locks dir> <key>\n")
  process.exit(2)
}
await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      yield* acquireKeyLock(dir, key)
      process.stdout.write("held\n")
      yield* Effect.never
    }),
  ),
)
