// `kiln doctor` as a user runs it: without the toolchain it names each missing tool, where it was
// looked for and the variable to set; with the stand-ins it shows their versions marked as stand-ins,
// the dies, and that "auto" picks vacc.
import { describe, expect, test } from "bun:test"
import { fileURLToPath } from "node:url"
import { standInEnvironment } from "./index.ts"
import { probeToolchain, visibleDevices } from "./vacc/discovery.ts"

const KILN = fileURLToPath(new URL("../cli/kiln.ts", import.meta.url))

const doctor = (env: Record<string, string>, args: string[] = []) => {
  const r = Bun.spawnSync(["bun", KILN, "doctor", ...args], { env: { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env } })
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }
}

describe("kiln doctor", () => {
  test("a missing tool is named, with where it was looked for and how to point kiln at it", () => {
    const r = doctor({ KILN_VACC_DEV_DIR: "/nonexistent" })
    expect(r.code).toBe(0)
    expect(r.out).toContain("vacc: not available")
    expect(r.out).toContain("vamc not found: KILN_VAMC is unset and no vamc is on PATH (/usr/bin:/bin)")
    expect(r.out).toContain("set KILN_VAMP=/path/to/vamp")
    expect(r.out).toMatch(/vaststreamx: MISSING — no Python that imports vaststreamx/)
    expect(r.out).toContain("dies:        none under /nonexistent")
    expect(r.out).toMatch(/target "auto" picks: auto → cpu/)
  }, 30_000)

  test("a KILN_VAMC that is not an executable is an error naming it", () => {
    const r = probeToolchain({ PATH: "/usr/bin:/bin", KILN_VAMC: "/nonexistent/vamc" })
    expect(r.vamc.ok ? "" : r.vamc.error.message).toBe("vamc: KILN_VAMC=/nonexistent/vamc is not an executable file")
  })

  test("with the stand-ins: versions marked STAND-IN, two dies, auto picks vacc", () => {
    const r = doctor(standInEnvironment())
    expect(r.out).toContain("vacc: available")
    expect(r.out.match(/\[STAND-IN, not the vendor's\]/g)?.length).toBe(3)
    expect(r.out).toContain("dies:        0, 1")
    expect(r.out).toMatch(/target "auto" picks: auto → vacc/)
  }, 30_000)

  test("VACC_VISIBLE_DEVICES narrows the dies; a malformed list is an error naming it", () => {
    const dev = standInEnvironment().KILN_VACC_DEV_DIR!
    expect(visibleDevices({ KILN_VACC_DEV_DIR: dev }).devices).toEqual([0, 1])
    expect(visibleDevices({ KILN_VACC_DEV_DIR: dev, VACC_VISIBLE_DEVICES: "1" }).devices).toEqual([1])
    expect(() => visibleDevices({ KILN_VACC_DEV_DIR: dev, VACC_VISIBLE_DEVICES: "0;1" })).toThrow("VACC_VISIBLE_DEVICES=0;1: expected die ids separated by commas")
  })

  test("--stand-ins prints shell exports that select them", () => {
    const r = doctor({ PATH: process.env.PATH ?? "/usr/bin:/bin" }, ["--stand-ins"])
    for (const [k, v] of Object.entries(standInEnvironment())) expect(r.out).toContain(`export ${k}='${v}'`)
    expect(r.out).toContain("NOT the vendor's tools")
  }, 30_000)
})
