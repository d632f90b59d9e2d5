// `hf(repo, { revision })`: a Hugging Face Hub repo as a pipeline source. The files come from a
// local folder when one is given, else the shared Hugging Face cache, else a download (src/hub);
// the commit the revision resolved to is part of the source's key and its lock-file entry, so
// `--frozen` refuses a branch that has moved. A dry run never downloads.
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { listFiles } from "../../src/cache/tree.ts"
import { resolvedSource, type Kind, type Node, type ResolvedSource, type SourceContext } from "../../src/engine/index.ts"
import { checkpointFiles, fetchSnapshot, HubError, hubRepo, hubSettingsFromEnv, type HubSettings, type WantedFiles } from "../../src/hub/index.ts"
import { attemptEffect, attemptSync, type StepErrorFields } from "../steps/attempt.ts"

/** How an hf() source fails: the Hub's message (repo, revision, file) with its hint, or a local folder or `check` refusing the files. */
export class HfSourceError extends Data.TaggedError("HfSourceError")<StepErrorFields> {}

export interface HfOptions<K extends Kind> {
  /** Branch, tag or commit sha; default "main". Pin a sha for reproducible runs. */
  readonly revision?: string
  /** Artifact kind of the node; default "hf-checkpoint". */
  readonly kind?: K
  readonly type?: "model" | "dataset"
  /** The files the pipeline needs; default: a text model's config, tokenizer and one copy of the weights. */
  readonly want?: readonly WantedFiles[]
  /** A folder holding the repo's files already (e.g. `huggingface-cli download --local-dir`): used as is. */
  readonly localDir?: string
  /** Node id; default "source:<name>". */
  readonly id?: string
  /** Checks the resolved folder (e.g. its config.json against a preset) before anything reads it; throw to refuse it. */
  readonly check?: (dir: string) => void
  /** Hub settings; default read from the environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE…) when the pipeline runs. */
  readonly settings?: () => HubSettings
}

const fromLocalDir = (dir: string, repo: string): ResolvedSource => ({
  path: dir,
  files: new Map(listFiles(dir).map((f) => [f.rel, f.abs])),
  pin: { repo, from: "local folder" },
})

export const hf = <const K extends Kind = "hf-checkpoint">(repo: string, options: HfOptions<K> = {}): Node<K> => {
  const parsed = hubRepo(repo, options.type ?? "model")
  const revision = options.revision ?? "main"
  const kind = (options.kind ?? "hf-checkpoint") as K
  const checked = (found: ResolvedSource) => attemptSync(HfSourceError, () => (options.check?.(found.path), found))
  const resolve = (ctx: SourceContext) =>
    Effect.gen(function* () {
      if (options.localDir !== undefined) return yield* checked(yield* attemptSync(HfSourceError, () => fromLocalDir(options.localDir!, repo)))
      const base = options.settings?.() ?? hubSettingsFromEnv()
      // A dry run answers from the cache alone and says what a real run would download.
      const settings = ctx.dryRun ? { ...base, offline: true } : base
      const snapshot = yield* fetchSnapshot({ repo: parsed, revision, want: options.want ?? checkpointFiles }, settings, {
        onProgress: (path, done, total) => Effect.runSync(ctx.progress(path, done, total)),
        log: (line) => Effect.runSync(ctx.log(line)),
      }).pipe(
        Effect.catchIf(
          (e): e is HubError => ctx.dryRun && !base.offline && e instanceof HubError && e.reason === "offline",
          () => Effect.succeed({ pending: `${repo}@${revision} from ${base.endpoint} (not in ${base.cacheDir})` }),
        ),
        attemptEffect(HfSourceError),
      )
      if ("pending" in snapshot) return snapshot
      return yield* checked({ path: snapshot.dir, files: snapshot.files, pin: { repo: `${parsed.type === "dataset" ? "datasets/" : ""}${repo}`, revision, commit: snapshot.commit } })
    })
  return resolvedSource(kind, `hf:${repo}@${revision}`, resolve, options.id)
}
