// Where kiln's vacc stand-ins live, as the environment that points kiln's discovery at them:
// `bun run kiln doctor --stand-ins` prints it as shell exports; tests and examples pass it to child
// processes or merge it over process.env. Nothing here is used unless a caller asks for it.
import { fileURLToPath } from "node:url"
import { findNumpyPython } from "../../../numpy/index.ts"

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** A Python with numpy for the stand-in vaststreamx module (Debian's python3-numpy in CI), absolute; null when there is none. */
export const standInPython = (): string | null => {
  const python = findNumpyPython()
  return python === null ? null : (Bun.which(python) ?? python)
}

/** KILN_VAMC, KILN_VAMP, KILN_VSX_PYTHON, the stand-in SDK folder and device dir (two dies, as a VA1-16G). */
export const standInEnvironment = (): Record<string, string> => {
  const python = standInPython()
  return {
    KILN_VAMC: here("./bin/vamc"),
    KILN_VAMP: here("./bin/vamp"),
    KILN_VSX_PYTHON: here("./bin/python-vsx"),
    KILN_VASTSTREAM_DIR: here("./vaststream"),
    KILN_VACC_DEV_DIR: here("./dev"),
    ...(python !== null ? { KILN_STANDIN_PYTHON: python } : {}),
  }
}
