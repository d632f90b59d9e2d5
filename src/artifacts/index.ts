// Artifact formats shared by steps and runtimes.
export * from "./model-manifest.ts"
