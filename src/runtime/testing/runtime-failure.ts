// Test support: run something that must fail with a RuntimeError and hand back that error, so tests
// can assert on its reason and message.
import { expect } from "bun:test"
import { RuntimeError } from "../errors.ts"

export const runtimeFailure = async (run: () => unknown): Promise<RuntimeError> => {
  try {
    await run()
  } catch (error) {
    expect(error).toBeInstanceOf(RuntimeError)
    return error as RuntimeError
  }
  throw new Error("expected a RuntimeError")
}
