// Models and datasets from the Hugging Face Hub, through @huggingface/hub, into the cache folder
// Python's huggingface_hub shares.
export { HubError, type HubErrorReason } from "./errors.ts"
export { hubSettingsFromEnv, type HubSettings } from "./settings.ts"
export { hubRepo, isCommitSha, repoDesignation, repoFolderName, type HubRepo } from "./repo.ts"
export { describeWanted, selectFiles, type Selection, type WantedFiles } from "./files.ts"
export { checkpointFiles } from "./checkpoint-files.ts"
export { fetchSnapshot, type FetchOptions, type Snapshot, type SnapshotRequest } from "./snapshot.ts"
export type { FileProgress } from "./transfer.ts"
