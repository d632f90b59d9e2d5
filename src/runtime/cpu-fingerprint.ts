// What a level-"all" ONNX Runtime graph is tied to: the ORT version and the CPU (model and the
// instruction-set features that pick its kernels). Used in cache keys and recorded by compile.
import { readFileSync } from "node:fs"
import { cpus } from "node:os"
import * as ort from "onnxruntime-node"

export interface CpuFingerprint {
  /** onnxruntime-node version, e.g. "1.30.0". */
  readonly ort: string
  readonly cpu: string
  /** Kernel-relevant features present, sorted: avx2, avx512f, avx512_vnni, avx_vnni, amx_int8 … */
  readonly features: readonly string[]
}

/** Features whose presence changes which ORT CPU kernels run (MLAS dispatch). */
const kernelFeatures = ["avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]

const cpuinfoFlags = (): { model: string | undefined; flags: Set<string> } => {
  try {
    // KILN_CPUINFO reads another machine's /proc/cpuinfo: how tests simulate another host class.
    const text = readFileSync(process.env.KILN_CPUINFO ?? "/proc/cpuinfo", "utf8")
    const flags = text.match(/^flags\s*:(.*)$/m)?.[1] ?? ""
    const model = text.match(/^model name\s*:(.*)$/m)?.[1]?.trim()
    return { model, flags: new Set(flags.trim().split(/\s+/)) }
  } catch {
    // Not Linux: no feature list; the model name from os.cpus() still separates machines.
    return { model: undefined, flags: new Set() }
  }
}

export const ortVersion = (): string => ort.env.versions.node ?? ort.env.versions.common

export const cpuFingerprint = (): CpuFingerprint => {
  const { model, flags } = cpuinfoFlags()
  return {
    ort: ortVersion(),
    cpu: model ?? cpus()[0]?.model ?? "unknown",
    features: kernelFeatures.filter((f) => flags.has(f)).sort(),
  }
}

/**
 * Why a graph optimised on `compiledOn` may not run correctly here, or undefined when it may:
 * another ORT version, or a kernel feature the compiling CPU had and this one lacks.
 */
export const hostMismatch = (compiledOn: CpuFingerprint, here: CpuFingerprint): string | undefined => {
  if (compiledOn.ort !== here.ort) return `it was optimised by onnxruntime-node ${compiledOn.ort} and this is ${here.ort}`
  const missing = compiledOn.features.filter((f) => !here.features.includes(f))
  if (missing.length > 0) return `it was optimised on a CPU with ${missing.join(", ")} (${compiledOn.cpu}) and this CPU (${here.cpu}) lacks them`
  return undefined
}
