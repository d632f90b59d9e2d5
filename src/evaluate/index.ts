// Evaluation of deployments: datasets to embeddings (computed once, stored as an artifact), metrics
// read from embeddings, fidelity against a reference, and the accuracy gate.
export { closeDeployment, embedTexts, openDeployment, type Deployment, type OpenOptions } from "./deployment.ts"
export { distinctTexts, loadRerankDataset, loadStsDataset } from "./dataset-files.ts"
export { embedPairs, pairIndex, type ColbertRows, type EmbeddingSet, type EmbedOptions, type InputMode, type SparseRows } from "./embedding-set.ts"
export { EmbeddingsArtifactError, EmbeddingsManifest, embeddingsFormat, embeddingsManifestFile, readEmbeddings, writeEmbeddings } from "./embeddings-artifact.ts"
export { distributionOf, EmbeddingSetMismatch, fidelityOfEmbeddings, stsOfEmbeddings, type Distribution, type FidelityResult, type Metrics, type WorstCase } from "./from-embeddings.ts"
export { deploymentFidelity, evaluateReranking, evaluateSts } from "./evaluate.ts"
export { checkMaxDrop, checkMinimums, type GateViolation } from "./gate.ts"
