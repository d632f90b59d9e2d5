// A loaded deployment, whichever its task and target: embedders embed, rerankers score. The
// evaluation functions take this so one step serves both kinds of model on every target.
import { Embedder, Reranker } from "../runtime/index.ts"
import { openDeploymentSession } from "../targets/index.ts"
import type { FloatTensor } from "../tensor/index.ts"

export type Deployment =
  | { readonly kind: "embedder"; readonly dir: string; readonly embedder: Embedder }
  | { readonly kind: "reranker"; readonly dir: string; readonly reranker: Reranker }

export interface OpenOptions {
  readonly threads?: number
  readonly instances?: number
}

/** Opens a deployment of any target (cpu bundles, vacc deployments …) as its task's runner. */
export const openDeployment = async (dir: string, options: OpenOptions = {}): Promise<Deployment> => {
  const session = await openDeploymentSession(dir, options)
  return session.config.task === "reranker"
    ? { kind: "reranker", dir, reranker: await Reranker.fromSession(session) }
    : { kind: "embedder", dir, embedder: await Embedder.fromSession(session) }
}

export const closeDeployment = async (d: Deployment): Promise<void> => {
  if (d.kind === "embedder") await d.embedder.close()
  else await d.reranker.close()
}

/** Dense embeddings of texts, in order; an aborted `signal` stops before the next batch. */
export const embedTexts = async (d: Deployment & { kind: "embedder" }, texts: readonly string[], batchSize = 32, input: "query" | "passage" = "passage", signal?: AbortSignal): Promise<FloatTensor> =>
  (await d.embedder.embed(texts, { batchSize, input, sparse: false, colbert: false, ...(signal ? { signal } : {}) })).dense
