// Qwen3-Embedding's query format: queries carry a one-sentence task description, documents
// nothing. The model card writes f"Instruct: {task}\nQuery:{query}" (no space after "Query:").

/** The model card's default retrieval task. */
export const qwen3WebSearchTask = "Given a web search query, retrieve relevant passages that answer the query"

/** What to prepend to a query (a deployment's `instruction`) for `task`. */
export const qwen3QueryInstruction = (task: string = qwen3WebSearchTask): string => `Instruct: ${task}\nQuery:`
