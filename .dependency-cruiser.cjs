// kiln's layering, checked in `bun test` (tests/layering.test.ts, which also proves every rule here
// fires on a generated tree) and by `bun --bun node_modules/.bin/depcruise src stdlib pipelines examples
// --config .dependency-cruiser.cjs`. ARCHITECTURE.md explains each rule.
const MODEL_LIBRARIES = "^(node_modules/)?(onnxruntime-node|onnxruntime-web|@huggingface/transformers|@huggingface/hub|protobufjs|hyparquet)(/|$)"
// Entry points (src/cli, src/serve) run pipelines; everything else under src/ is library code.
const LIBRARIES = "^src/(?!engine/|cache/|store/|executors/|cli/|serve/)[^/]+/"
// A target's own folder (src/targets/cpu, src/targets/vacc …); src/targets/testing is test support.
const TARGET_FOLDER = "^src/targets/(?!testing/)[^/]+/"

module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "Imports form a DAG: a cycle makes load order and ownership ambiguous. Two modules naming each other's types only (erased at run time) is not a cycle here.",
      severity: "error",
      from: {},
      to: { circular: true, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "engine-knows-no-models",
      comment: "The engine imports only itself, the cache, the store seam (src/store: remote tiers) and src/schema (zod issues as sentences, a leaf): never model code, families, targets, steps or model libraries.",
      severity: "error",
      from: { path: "^src/engine/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src/(?!engine/|cache/|store/|schema/)|stdlib/|pipelines/|examples/)" },
    },
    {
      name: "engine-no-model-libraries",
      severity: "error",
      from: { path: "^src/(engine|cache|store|schema|executors)/" },
      to: { path: MODEL_LIBRARIES },
    },
    {
      name: "cache-is-the-bottom",
      comment: "The cache imports nothing else from the project but src/schema, a leaf (its tests may drive the engine).",
      severity: "error",
      from: { path: "^src/cache/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src|stdlib|pipelines|examples)/", pathNot: "^src/(cache|schema)/" },
    },
    {
      name: "stores-below-the-engine",
      comment: "src/store (the store seam, the remote tier, HTTP/S3 stores) imports only itself, the cache and src/schema: the engine calls it, never the other way.",
      severity: "error",
      from: { path: "^src/store/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src|stdlib|pipelines|examples)/", pathNot: "^src/(cache|schema|store)/" },
    },
    {
      name: "executors-know-no-models",
      comment: "src/executors (where cache misses run: BullMQ workers) imports only itself, the engine, the cache, the store and src/schema: it runs steps it loads by module path, never model code it imports.",
      severity: "error",
      from: { path: "^src/executors/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src/(?!engine/|cache/|store/|schema/|executors/)|stdlib/|pipelines/|examples/)" },
    },
    {
      name: "queue-client-in-executors",
      comment: "The queue client (bullmq, ioredis) is the executors' business: the engine, cache, store and run CLI never load it (the engine's seam is src/engine/executor.ts).",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/executors/" },
      to: { path: "^(node_modules/)?(bullmq|ioredis)(/|$)" },
    },
    {
      name: "schema-is-a-leaf",
      comment: "src/schema (validation messages, the JSON-file reader) imports nothing from the project, so the engine and the cache may use it.",
      severity: "error",
      from: { path: "^src/schema/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src|stdlib|pipelines|examples)/", pathNot: "^src/schema/" },
    },
    {
      name: "libraries-know-no-engine",
      comment: "Library code (src/<lib>: families, targets, onnx, quant, …) knows nothing of the engine, the entry points (CLI, serve) or the steps.",
      severity: "error",
      from: { path: LIBRARIES, pathNot: "\\.test\\.ts$" },
      to: { path: "^(src/(engine|cli|serve)/|stdlib/|pipelines/|examples/)" },
    },
    {
      name: "families-import-no-steps",
      comment: "A model family is library code behind the family registry: it never imports steps or pipelines.",
      severity: "error",
      from: { path: "^src/families/" },
      to: { path: "^(stdlib|pipelines|examples)/" },
    },
    {
      name: "run-cli-knows-no-models",
      comment:
        "Code digests stop at the engine, cache and CLI (src/engine/code): that is sound only while the run CLI imports no model code. The `kiln` command dispatcher (src/cli/kiln.ts) loads commands lazily and no step imports it.",
      severity: "error",
      from: { path: "^src/cli/", pathNot: "(\\.test\\.ts$|^src/cli/kiln\\.ts$)" },
      to: { path: "^(src/(?!engine/|cache/|store/|executors/|cli/)|stdlib/|pipelines/|examples/)" },
    },
    {
      name: "targets-behind-their-registry",
      comment: "Outside src/targets, code reaches a target through the Target seam (src/targets/index.ts, registry.ts), never a target's own folder.",
      severity: "error",
      from: { pathNot: "^src/targets/" },
      to: { path: TARGET_FOLDER },
    },
    {
      name: "targets-know-no-other-target",
      comment: "One target's folder never imports another's: each stands alone behind the seam.",
      severity: "error",
      from: { path: "^src/targets/((?!testing/)[^/]+)/" },
      to: { path: TARGET_FOLDER, pathNot: "^src/targets/$1/" },
    },
    {
      name: "src-below-stdlib",
      comment: "Dependencies point one way: pipelines → stdlib → src.",
      severity: "error",
      from: { path: "^src/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(stdlib|pipelines|examples)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    // typescript@7 (the native compiler) has no JS API yet; swc parses TypeScript for the cruiser.
    parser: "swc",
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "(^|/)\\.work/" },
  },
}
