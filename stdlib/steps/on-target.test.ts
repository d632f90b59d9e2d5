// Steps over deployments (embed, evaluateRerank, bench) key on and hold what the deployment's own
// target needs: a vacc deployment's results depend on the installed vaststreamx / SDK / driver,
// so those versions are in the key whatever "auto" would pick on this machine, and the step holds
// a die; a CPU deployment's embeddings key on its inputs only, even where a card is available.
// evaluate and fidelity read embeddings artifacts: they run no model and key on nothing more.
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { makeCodeDigester } from "../../src/engine/code/index.ts"
import type { AnyStep } from "../../src/engine/index.ts"
import { chooseTarget, standInFiles } from "../../src/targets/index.ts"
import { useStandIns, withEnv } from "../../src/targets/testing/stand-in-env.ts"
import { cleanup, tempDir } from "../../tests/support.ts"
import { bench, compile, embed, evaluate, evaluateRerank, fidelity } from "../index.ts"

const projectRoot = resolve(import.meta.dir, "../..")
const root = tempDir()
// Each new environment makes discovery run the tools' version probes (bun and python processes,
// synchronously): seconds on a loaded machine, past bun's 5 s default.
const PROBE_TIMEOUT = 60_000
afterAll(() => cleanup(root))
const folder = (name: string, file: string) => {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, file), "{}\n")
  return dir
}
// Who made a deployment is told by its manifest file (what each target's ownsDeployment reads).
const vaccDeployment = folder("vacc", "vacc-deployment.json")
const cpuDeployment = folder("cpu", "runtime.json")
/** What the engine computes for a node of `step` over these input folders: its fingerprint and resource class. */
const key = (step: { readonly definition: AnyStep }, params: object, inputs: Record<string, string>) => {
  const d = step.definition
  const p = d.params.parse(params)
  return { fingerprint: d.fingerprint!(p, inputs), resources: typeof d.resources === "function" ? d.resources(p, inputs) : d.resources }
}

describe("steps over a deployment key on its own target's tools", () => {
  useStandIns()

  test("embed: a vacc deployment keys on vamc / vaststreamx / SDK / driver versions and holds a die; a CPU one keys on nothing, though auto would pick vacc here", () => {
    expect(chooseTarget("auto").target.name).toBe("vacc")
    for (const step of [embed, evaluateRerank]) {
      const onCard = key(step, {}, { deployment: vaccDeployment, dataset: root })
      expect(Object.keys(onCard.fingerprint).sort()).toEqual(["driver", "sdk", "vamc", "vamp", "vaststreamx"])
      expect(onCard.fingerprint.vaststreamx).toContain("stand-in")
      expect(onCard.resources).toBe("device")
      expect(key(step, {}, { deployment: cpuDeployment, dataset: root })).toEqual({ fingerprint: {}, resources: "cpu" })
    }
  }, PROBE_TIMEOUT)

  test("evaluate and fidelity read embeddings: no tools in their key, no die held; bench names the deployment's target and the host", () => {
    for (const step of [evaluate, fidelity]) {
      expect(step.definition.fingerprint).toBeUndefined()
      expect(step.definition.resources ?? "cpu").toBe("cpu")
    }
    const b = key(bench, {}, { deployment: vaccDeployment, dataset: root })
    expect(b.fingerprint.target).toBe("vacc")
    expect(b.fingerprint.host).toBeString()
    expect(b.resources).toBe("device")
    expect(key(bench, {}, { deployment: cpuDeployment, dataset: root }).resources).toBe("exclusive")
  }, PROBE_TIMEOUT)

  test("another SDK version on the same deployment is another key", async () => {
    const before = key(embed, {}, { deployment: vaccDeployment, dataset: root }).fingerprint
    const sdk = join(root, "sdk")
    mkdirSync(sdk, { recursive: true })
    writeFileSync(join(sdk, "version.txt"), "ai-v3.1.0-20251013\n")
    const after = await withEnv({ KILN_VASTSTREAM_DIR: sdk }, async () => key(embed, {}, { deployment: vaccDeployment, dataset: root }).fingerprint)
    expect(after.sdk).toBe("ai-v3.1.0-20251013")
    expect(after.sdk).not.toBe(before.sdk)
  }, PROBE_TIMEOUT)

  test("without the toolchain, a vacc deployment's embeddings cannot be keyed: the error names the missing tool and its variable", async () => {
    const error = await withEnv({ KILN_VAMC: join(root, "no-vamc") }, async () => {
      try {
        key(embed, {}, { deployment: vaccDeployment, dataset: root })
        return undefined
      } catch (e) {
        return e as { message: string; hint?: string }
      }
    })
    expect(error?.message).toContain("KILN_VAMC")
    // A CPU deployment needs no tools.
    await withEnv({ KILN_VAMC: join(root, "no-vamc") }, async () => expect(key(embed, {}, { deployment: cpuDeployment, dataset: root }).fingerprint).toEqual({}))
  }, PROBE_TIMEOUT)

  test("a deployment asked to run on another target is refused when keyed, naming the folder", () => {
    expect(() => key(embed, { target: "cpu" }, { deployment: vaccDeployment, dataset: root })).toThrow("was made for target vacc, but the step asks for cpu")
  })
})

describe("the code digest of steps that run the vacc tools", () => {
  test("covers the vaststreamx runner and every stand-in file (Python and shell scripts, the stand-ins' entry points), which no TypeScript import runs", async () => {
    const digester = makeCodeDigester({ stateDir: join(root, "code-state") })
    const modules = [compile, embed, evaluateRerank, bench].map((s) => s.definition.module!)
    await digester.prepare(modules)
    for (const module of modules) {
      const files = Object.keys(digester.digestOf(module).files)
      expect(files).toContain("src/targets/vacc/runner/vsx_runner.py")
      for (const f of standInFiles) expect(files).toContain(relative(projectRoot, f))
    }
  }, 60_000)
})
