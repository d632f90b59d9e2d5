// kiln's layering, checked in `bun test` (tests/layering.test.ts) and by `bunx depcruise src stdlib`.
// ARCHITECTURE.md explains each rule; folders that do not exist yet (src/targets …) are covered by
// the same patterns when they land.
const MODEL_LIBRARIES = "^(node_modules/)?(onnxruntime-node|onnxruntime-web|@huggingface/transformers|@huggingface/hub|protobufjs|hyparquet)(/|$)"
// Entry points (src/cli, src/serve) run pipelines; everything else under src/ is library code.
const LIBRARIES = "^src/(?!engine/|cache/|cli/|serve/)[^/]+/"

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
      comment: "The engine imports only itself and the cache: never model code, families, targets, steps or model libraries.",
      severity: "error",
      from: { path: "^src/engine/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src/(?!engine/|cache/)|stdlib/|pipelines/|examples/)" },
    },
    {
      name: "engine-no-model-libraries",
      severity: "error",
      from: { path: "^src/(engine|cache)/" },
      to: { path: MODEL_LIBRARIES },
    },
    {
      name: "cache-is-the-bottom",
      comment: "The cache imports nothing else from the project (its tests may drive the engine).",
      severity: "error",
      from: { path: "^src/cache/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(src|stdlib|pipelines|examples)/", pathNot: "^src/cache/" },
    },
    {
      name: "libraries-know-no-engine",
      comment: "Library code (src/<lib>: families, targets, onnx, quant, …) knows nothing of the engine, the CLI or the steps.",
      severity: "error",
      from: { path: LIBRARIES, pathNot: "\\.test\\.ts$" },
      to: { path: "^(src/(engine|cli)/|stdlib/|pipelines/|examples/)" },
    },
    {
      name: "families-import-no-steps",
      comment: "A model family is library code behind the family registry: it never imports steps or pipelines.",
      severity: "error",
      from: { path: "^src/families/" },
      to: { path: "^(stdlib|pipelines|examples)/" },
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
