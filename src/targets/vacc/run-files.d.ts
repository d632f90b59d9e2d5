// Types of the files the vacc target runs but does not load as TypeScript — the vaststreamx
// runner, and the stand-in tools and module — which it imports `with { type: "file" }`: the import
// gives the file's absolute path, and Bun's bundler lists the file in the importing module's
// closure, so a step's code digest covers their bytes (src/engine/code/module-graph.ts).
declare module "*.py" {
  const path: string
  export default path
}
declare module "*/bin/vamc" {
  const path: string
  export default path
}
declare module "*/bin/vamp" {
  const path: string
  export default path
}
declare module "*/bin/python-vsx" {
  const path: string
  export default path
}
