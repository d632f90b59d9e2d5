// What an optimised graph or a speed figure depends on in this machine: the ONNX Runtime version,
// the CPU model and its instruction-set features. Steps use it as their `fingerprint`.
import { cpuFingerprint } from "../../src/runtime/index.ts"

export const cpuPrint = (): Record<string, string> => {
  const fp = cpuFingerprint()
  return { ort: fp.ort, cpu: fp.cpu, features: fp.features.join(" ") }
}
