// What a step's code is, for its action key: import closures, package versions, the digest.
export { makeCodeDigester, projectRootOf, type CodeDigest, type CodeDigester } from "./code-digest.ts"
export { ModuleGraphError } from "./module-graph.ts"
export { PackageLockError } from "./package-versions.ts"
