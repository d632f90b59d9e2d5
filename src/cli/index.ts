// Command-line entry points: the run CLI every pipeline file gets, and `kiln <command>`.
export { executePipeline, main, runAsProgram, type ExecuteOptions, type ExecuteResult, type ProgramOptions, type ReportPaths, type RunReportHook } from "./run-pipeline.ts"
export { parseRunArgs, RUN_USAGE } from "./run-args.ts"
export { mainWithInputs, PipelineInputError, takePipelineInputs, type PipelineInput } from "./pipeline-inputs.ts"
