// Which files of a repo a task needs. A task names each thing it needs (config, tokenizer,
// weights…) as alternatives of glob patterns; the first alternative whose every pattern matches
// at least one file wins, so "model.safetensors, else the sharded safetensors, else
// pytorch_model.bin" fetches one copy of the weights and never the ONNX or .bin duplicates.

export interface WantedFiles {
  /** What it is, for messages: "weights", "tokenizer". */
  readonly what: string
  /** Alternatives in order of preference; each is a list of glob patterns that must all match. */
  readonly oneOf: readonly (readonly string[])[]
  readonly optional?: boolean
}

export interface Selection {
  readonly files: readonly string[]
  /** Wanted things no alternative of which is present. */
  readonly missing: readonly WantedFiles[]
}

export const selectFiles = (available: readonly string[], wanted: readonly WantedFiles[]): Selection => {
  const chosen = new Set<string>()
  const missing: WantedFiles[] = []
  for (const want of wanted) {
    let found = false
    for (const alternative of want.oneOf) {
      const matches = alternative.map((pattern) => {
        const glob = new Bun.Glob(pattern)
        return available.filter((path) => glob.match(path))
      })
      if (matches.every((m) => m.length > 0)) {
        for (const m of matches) for (const path of m) chosen.add(path)
        found = true
        break
      }
    }
    if (!found && want.optional !== true) missing.push(want)
  }
  return { files: [...chosen].sort(), missing }
}

export const describeWanted = (want: WantedFiles): string => `${want.what} (${want.oneOf.map((alt) => alt.join(" + ")).join(", or ")})`
