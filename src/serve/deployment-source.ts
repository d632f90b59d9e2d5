// What `kiln serve` serves: a deployment folder of any registered target (the output of a deploy
// step: runtime.json on cpu, the vacc deployment file on vacc), or `pipeline.ts#node`, a node of a
// pipeline file's default export whose output is a deployment — run (or found in the cache) with
// the pipeline's own CLI, `--until node`, so serving always matches the pipeline.
import { existsSync, statSync } from "node:fs"
import { resolve } from "node:path"
import { executePipeline } from "../cli/index.ts"
import type { Pipeline } from "../engine/index.ts"
import { registeredTargets, targetNames } from "../targets/index.ts"
import { ServeError } from "./errors.ts"

export interface ResolvedDeployment {
  readonly dir: string
  /** The node's id for `file#node`; undefined for a folder. */
  readonly node?: string
}

const isDeployment = (dir: string): boolean => registeredTargets.some((t) => t.ownsDeployment(dir))
const expected = `a deployment folder (the output of a deploy step, for target ${targetNames().join(" or ")})`

const isPipeline = (value: unknown): value is Pipeline<never> =>
  typeof value === "object" && value !== null && "ends" in value && "name" in value && Array.isArray((value as { ends: unknown }).ends)

/**
 * `source` as a deployment folder. For `file#node`, `pipelineArgs` go to the pipeline's run CLI
 * (e.g. --cache-dir); its progress is written to `log`.
 */
export const resolveDeployment = async (source: string, pipelineArgs: readonly string[], log: { write(text: string): unknown }): Promise<ResolvedDeployment> => {
  const hash = source.lastIndexOf("#")
  if (hash < 0) {
    const dir = resolve(source)
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ServeError("invalid-source", `${dir}: not a folder; expected ${expected} or pipeline.ts#node`)
    if (!isDeployment(dir)) throw new ServeError("invalid-source", `${dir}: no target recognises this folder; expected ${expected}`)
    return { dir }
  }
  const file = resolve(source.slice(0, hash))
  const node = source.slice(hash + 1)
  if (node === "") throw new ServeError("invalid-source", `${source}: expected pipeline.ts#node, with the id of a node whose output is a deployment`)
  if (!existsSync(file)) throw new ServeError("invalid-source", `${file}: no such pipeline file`)
  let module: { default?: unknown }
  try {
    module = await import(file)
  } catch (cause) {
    throw new ServeError("invalid-source", `${file}: could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  if (!isPipeline(module.default)) throw new ServeError("invalid-source", `${file}: has no default-exported pipeline (export default pipeline(...))`)
  const result = await executePipeline(module.default, file, ["--until", node, ...pipelineArgs], { stdout: log, stderr: log })
  if (result.exitCode !== 0) throw new ServeError("invalid-source", `${file}#${node}: the pipeline run failed (exit ${result.exitCode}); see the messages above`)
  const step = (result.summary?.steps as { id: string; outputs: Record<string, { path: string }> }[] | undefined)?.find((s) => s.id === node)
  const outputs = step === undefined ? [] : Object.values(step.outputs)
  const dir = outputs[0]?.path
  if (dir === undefined || !isDeployment(dir)) {
    throw new ServeError("invalid-source", `${file}#${node}: ${step === undefined ? "no such node" : "its output is not a deployment"}; name a deploy node`)
  }
  return { dir, node }
}
