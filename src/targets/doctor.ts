// `kiln doctor`: what each registered target found on this machine — tool versions (stand-ins
// marked), devices, and for anything missing the variable that points kiln at it — and which
// target "auto" picks. `--stand-ins` prints the environment that selects kiln's stand-ins instead.
import { chooseTarget } from "./select.ts"
import { registeredTargets } from "./registry.ts"
import type { Target } from "./target.ts"
import { standInEnvironment } from "./vacc/stand-in/env.ts"

export const doctorReport = (targets: readonly Target[] = registeredTargets): string => {
  const lines: string[] = []
  for (const target of targets) {
    const a = target.availability()
    lines.push(`${target.name}: ${a.available ? "available" : "not available"}`)
    for (const line of target.doctor()) lines.push(`  ${line}`)
    lines.push("")
  }
  let auto: string
  try {
    auto = chooseTarget("auto", targets).why
  } catch (e) {
    auto = `nothing (${(e as Error).message})`
  }
  lines.push(`target "auto" picks: ${auto}`)
  return lines.join("\n") + "\n"
}

const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`

/** `export KEY='value'` lines selecting the stand-ins, for `eval "$(bun run kiln doctor --stand-ins)"`. */
export const standInExports = (): string =>
  [
    "# kiln's vacc stand-ins (NOT the vendor's tools): they check inputs as the vendor documents them and compute on the CPU",
    ...Object.entries(standInEnvironment()).map(([k, v]) => `export ${k}=${quote(v)}`),
  ].join("\n") + "\n"
