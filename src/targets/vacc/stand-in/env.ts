// Where kiln's vacc stand-ins live, as the environment that points kiln's discovery at them:
// `bun run kiln doctor --stand-ins` prints it as shell exports; tests and examples pass it to child
// processes or merge it over process.env. Nothing here is used unless a caller asks for it.
import { dirname, join } from "node:path"
import { findNumpyPython } from "../../../numpy/index.ts"
// The stand-ins, imported as files (their paths): Bun's bundler then lists them in the closure of
// every step that reaches the targets, so editing a stand-in re-keys the steps it computed —
// as a new vendor tool version would through the fingerprint. The TypeScript entry points are
// imported as files too (not run): the namespace's default is the path.
import vamcBin from "./bin/vamc" with { type: "file" }
import vampBin from "./bin/vamp" with { type: "file" }
import pythonBin from "./bin/python-vsx" with { type: "file" }
import vaststreamxModule from "./python/vaststreamx/__init__.py" with { type: "file" }
import * as vamcEntry from "./vamc.ts" with { type: "file" }
import * as vampEntry from "./vamp.ts" with { type: "file" }
import * as ortHelperEntry from "./ort-helper.ts" with { type: "file" }

/** Every file of the stand-in kit that runs, by absolute path (the code digest covers each). */
export const standInFiles: readonly string[] = [vamcBin, vampBin, pythonBin, vaststreamxModule, ...[vamcEntry, vampEntry, ortHelperEntry].map((m) => (m as unknown as { default: string }).default)]

const standInDir = dirname(dirname(vamcBin))

/** A Python with numpy for the stand-in vaststreamx module (Debian's python3-numpy in CI), absolute; null when there is none. */
export const standInPython = (): string | null => {
  const python = findNumpyPython()
  return python === null ? null : (Bun.which(python) ?? python)
}

/** KILN_VAMC, KILN_VAMP, KILN_VSX_PYTHON, the stand-in SDK folder and device dir (two dies, as a VA1-16G). */
export const standInEnvironment = (): Record<string, string> => {
  const python = standInPython()
  return {
    KILN_VAMC: vamcBin,
    KILN_VAMP: vampBin,
    KILN_VSX_PYTHON: pythonBin,
    KILN_VASTSTREAM_DIR: join(standInDir, "vaststream"),
    KILN_VACC_DEV_DIR: join(standInDir, "dev"),
    ...(python !== null ? { KILN_STANDIN_PYTHON: python } : {}),
  }
}
