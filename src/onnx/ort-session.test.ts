// The session factory: every kiln session runs on the CPU provider with warnings off, settings
// map onto ORT's options one to one, and what is absent stays ORT's default.
import { describe, expect, test } from "bun:test"
import { ortSessionOptions } from "./ort-session.ts"

describe("ORT session factory", () => {
  test("absent settings are ORT's defaults, except the CPU provider, silenced warnings and level all", () => {
    expect(ortSessionOptions()).toEqual({ executionProviders: ["cpu"], logSeverityLevel: 3, graphOptimizationLevel: "all" })
  })

  test("a deployment's settings reach ORT's options, config entries by their dotted keys", () => {
    const options = ortSessionOptions({
      level: "disabled",
      threads: 2,
      interOpThreads: 1,
      executionMode: "sequential",
      memArena: false,
      memPattern: true,
      configEntries: { "session.intra_op.allow_spinning": "0" },
    })
    expect(options).toEqual({
      executionProviders: ["cpu"],
      logSeverityLevel: 3,
      graphOptimizationLevel: "disabled",
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      executionMode: "sequential",
      enableCpuMemArena: false,
      enableMemPattern: true,
      extra: { "session.intra_op.allow_spinning": "0" },
    })
  })

  test("no config entries means no extra block", () => {
    expect("extra" in ortSessionOptions({ configEntries: {} })).toBe(false)
  })
})
