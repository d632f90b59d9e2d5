// Where kiln's vacc stand-ins live, as the environment that points kiln's discovery at them:
// `bun run kiln doctor --stand-ins` prints it as shell exports; tests and examples pass it to child
// processes or merge it over process.env. Nothing here is used unless a caller asks for it.
import { fileURLToPath } from "node:url"

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** KILN_VAMC, KILN_VAMP, KILN_VSX_PYTHON, the stand-in SDK folder and device dir (two dies, as a VA1-16G). */
export const standInEnvironment = (): Record<string, string> => ({
  KILN_VAMC: here("./bin/vamc"),
  KILN_VAMP: here("./bin/vamp"),
  KILN_VSX_PYTHON: here("./bin/python-vsx"),
  KILN_VASTSTREAM_DIR: here("./vaststream"),
  KILN_VACC_DEV_DIR: here("./dev"),
})
