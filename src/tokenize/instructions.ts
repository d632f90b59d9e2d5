// Query instructions the BGE models were trained with: prepended to queries (never to passages)
// for retrieval; bge-m3 and the rerankers use none.

/** BAAI/bge-*-en-v1.5 (and v1) query instruction for retrieval. */
export const bgeEnglishQueryInstruction = "Represent this sentence for searching relevant passages: "

/** BAAI/bge-*-zh-v1.5 (and v1) query instruction for retrieval. */
export const bgeChineseQueryInstruction = "为这个句子生成表示以用于检索相关文章："
