// Targets: where kiln's models run. One folder per implementation (cpu/: ONNX Runtime; vacc/: VastAI
// cards through vamc, vaststreamx and vamp, with stand-ins for machines without a card) behind the
// Target interface, registered in registry.ts. Steps choose one with `target: "cpu" | "vacc" | "auto"`.
import * as Layer from "effect/Layer"
import { registeredTargets } from "./registry.ts"
import { Targets } from "./target.ts"

export { BenchConfigReport, BenchReport } from "./bench-report.ts"
export { TargetError, type TargetErrorReason } from "./errors.ts"
export { openDeploymentSession } from "./open-session.ts"
export { compileParamsShape, registeredTargets, type CompileParamsShape } from "./registry.ts"
export { chooseTarget, matchTarget, targetNames, targetOfDeployment, targetOfModel, TargetParam, type Chosen } from "./select.ts"
export type { Availability, BenchParams, BenchRequest, CompileRequest, DeployParams, DeployRequest, SessionOptions, Target, TargetServices } from "./target.ts"
export { Targets } from "./target.ts"
export { VAMC_CALIBRATION_DIR, VAMC_QUANTIZE_FILE } from "./vacc/compile.ts"
export { deviceExportParams, deviceExportSettings } from "./vacc/device-export.ts"
export { standInEnvironment, standInFiles, standInPython } from "./vacc/stand-in/env.ts"

/** The registered targets as a service. */
export const TargetsLive = Layer.succeed(Targets)({ all: registeredTargets })
