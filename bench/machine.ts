// Describes the machine a benchmark ran on, printed with every table and stored in its JSON.
import { cpus, totalmem } from "node:os"
import { readFileSync } from "node:fs"

export const machine = () => {
  let flags = ""
  try {
    flags = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? ""
  } catch {
    // not Linux
  }
  const features = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "sha_ni"].filter((f) => flags.split(/\s+/).includes(f))
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    features,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
  }
}

export const printMachine = (): void => {
  const m = machine()
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.features.join(" ")}; bun ${m.bun}, ${m.platform}`)
}

/** Writes a benchmark's JSON next to the others (bench/results/, not committed). */
export const writeResult = async (name: string, data: unknown): Promise<string> => {
  const path = `${import.meta.dir}/results/${name}.json`
  await Bun.write(path, JSON.stringify({ machine: machine(), ...(data as object) }, null, 2) + "\n")
  return path
}
