// Every model family kiln knows: one line each. Adding a family is a folder src/families/<name>/
// and a line here; nothing else names it.
export { bert } from "./bert/index.ts"
export { xlmRoberta } from "./xlm-roberta/index.ts"
export { qwen3 } from "./qwen3/index.ts"
