// The seam a model family implements: everything kiln needs to know about one architecture —
// how its config.json reads, which tensors it has, how its ONNX graph is built, what its
// tokenizer and positions look like, how a synthetic checkpoint of it is made, and its float64
// reference forward. Export, synth, tokenize and the tests look a family up in the registry
// (registry.ts) by config.json's model_type and call these; none of them names a family.
import type { Checkpoint, TensorSource, WritableDType } from "../checkpoint/index.ts"
import type { Dim, GraphContext, HeadOutput, Pooling } from "../graph/index.ts"
import type { ReferenceBatch, ReferenceExtras, ReferenceOptions, ReferenceOutputs } from "../reference/index.ts"
import type { LazyTensor } from "../tensor/index.ts"

/** What a model is exported for (kiln.json's `task`). */
export type FamilyTask = "embedding" | "reranker" | "m3"

/** What every family's parsed config.json offers shared code. */
export interface FamilyConfig {
  /** The family's name (kiln.json's `family`). */
  readonly family: string
  readonly hiddenSize: number
  readonly numLayers: number
  /** Query heads of each attention layer. */
  readonly numHeads: number
  /** Width of each layer's feed-forward block. */
  readonly intermediateSize: number
  readonly vocabSize: number
  /** Longest input, special tokens included, the position scheme allows. */
  readonly maxInputLength: number
  /** Rows of a learned position table, for families that have one (checked against the weights). */
  readonly maxPositions?: number
  /** The original config.json, kept so exports can copy it verbatim. */
  readonly raw: Readonly<Record<string, unknown>>
}

/** The export options a graph builder sees (validated by the exporter). */
export interface GraphOptions {
  readonly task: FamilyTask
  readonly pooling: Pooling
  /** "contrib": com.microsoft fused ops where the family has them; "onnx": standard ops only. */
  readonly attention: "contrib" | "onnx"
  /** Static sequence length, when the export has one. */
  readonly seqlen: number | undefined
}

/** The graph inputs the exporter declared, and the batch and sequence dimensions. */
export interface GraphInputs {
  readonly inputIds: string
  readonly attentionMask: string
  /** Undefined when the graph has no token_type_ids input. */
  readonly tokenTypeIds: string | undefined
  readonly batch: Dim
  readonly sequence: Dim
}

/** Heads stored in separate files beside the weights (bge-m3's sparse_linear.pt …), by stem. */
export type ExtraWeights = Checkpoint["extras"]

/** What a family's `synth.write` is asked for (already validated against `synth.sizes` / `synth.tasks`). */
export interface SynthRecipeOptions {
  readonly size: string
  readonly task: FamilyTask
  readonly seed: number
  readonly out: string
  readonly dtype: WritableDType
  /** Plant a few large-magnitude hidden channels (where the family supports it). */
  readonly outliers: boolean
  /** A real tokenizer folder to copy instead of generating one; vocab_size follows it. */
  readonly tokenizerDir: string | undefined
}

/** A hidden channel that carries large values through the residual stream. */
export interface OutlierChannel {
  readonly index: number
  readonly magnitude: number
  readonly sign: 1 | -1
}

export interface SynthesizedCheckpoint {
  readonly dir: string
  /** File names written into `dir`. */
  readonly files: readonly string[]
  readonly config: Readonly<Record<string, unknown>>
  /** The main weights file's name. */
  readonly weightsFile: string
  readonly shape: { readonly numLayers: number; readonly hiddenSize: number; readonly vocabSize: number }
  readonly outlierChannels: readonly OutlierChannel[]
  /** Names and shapes of the main weight file's tensors, in file order. */
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[]
}

export interface FamilySynth {
  /** Sizes a synthetic checkpoint can take ("tiny" first). */
  readonly sizes: readonly string[]
  readonly tasks: readonly FamilyTask[]
  /** Why `size` and `task` cannot go together, if they cannot. */
  check(size: string, task: FamilyTask): string | undefined
  /** Writes config.json, the weights and the tokenizer into `options.out`, byte-identically for the same options. */
  write(options: SynthRecipeOptions): Promise<SynthesizedCheckpoint>
  /** The tensors `write` stores, without generating any values (for checks of big sizes). */
  tensors?(options: Omit<SynthRecipeOptions, "out" | "tokenizerDir">): readonly TensorSource[]
}

export interface ModelFamily<C extends FamilyConfig = FamilyConfig> {
  /** kiln.json's `family`, the synth `--arch` name. */
  readonly name: string
  /** config.json `model_type` values this family reads. */
  readonly modelTypes: readonly string[]
  /** Hugging Face class names (config.json `architectures`), for configs without a model_type. */
  readonly architectures: readonly string[]
  /** Validates a parsed config.json; throws CheckpointError naming `file` and the field. */
  parseConfig(json: Readonly<Record<string, unknown>>, file: string): C
  /** The longest usable input from a possibly partial config.json (a tokenizer folder's), if it says. */
  inputLimit(json: Readonly<Record<string, unknown>>): number | undefined
  /** Prefixes wrapper classes put before base-model weight names, tried in order. */
  readonly weightPrefixes: readonly string[]
  readonly tasks: readonly FamilyTask[]
  /** Poolings of `sentence_embedding` this family supports; the first is its default. */
  readonly poolings: readonly Pooling[]
  /** Whether the graph takes token_type_ids (`always`: the caller asks for it whatever the config). */
  tokenTypeInput(config: C, always: boolean): boolean
  /** Why these options cannot be exported for this config (names the option), if they cannot. */
  checkOptions(config: C, options: GraphOptions, file: string): string | undefined
  /** Adds the model and the task's heads to `ctx`; returns the outputs in OUTPUT_NAMES order. */
  buildGraph(ctx: GraphContext, model: { readonly config: C; readonly checkpoint: Checkpoint }, options: GraphOptions, inputs: GraphInputs): HeadOutput[]
  /** The independent float64 forward exported graphs are checked against. */
  reference(config: C, weights: ReadonlyMap<string, LazyTensor>, extras: ReferenceExtras, batch: ReferenceBatch, task: FamilyTask, options?: ReferenceOptions): ReferenceOutputs
  readonly synth: FamilySynth
}
