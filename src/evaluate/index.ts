// Evaluation of deployments: datasets to metrics, fidelity against a reference, and the accuracy gate.
export { closeDeployment, embedTexts, openDeployment, type Deployment, type OpenOptions } from "./deployment.ts"
export { distinctTexts, loadRerankDataset, loadStsDataset } from "./dataset-files.ts"
export { deploymentFidelity, evaluateReranking, evaluateSts, type Metrics } from "./evaluate.ts"
export { checkMaxDrop, checkMinimums, type GateViolation } from "./gate.ts"
