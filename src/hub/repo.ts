// A Hub repository: its type and "org/name" id, checked before it becomes part of a URL or of a
// cache folder name (models--ORG--NAME, datasets--ORG--NAME, as huggingface_hub names them).
import { HubError } from "./errors.ts"

export interface HubRepo {
  readonly type: "model" | "dataset"
  /** "org/name", e.g. "BAAI/bge-m3". */
  readonly id: string
}

const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/

export const hubRepo = (id: string, type: HubRepo["type"] = "model"): HubRepo => {
  if (!REPO_ID.test(id) || id.includes("..") || id.includes("--")) {
    throw new HubError({ reason: "repo-not-found", message: `"${id}" is not a Hub repo id`, hint: 'write it as "org/name", e.g. "BAAI/bge-m3"', repo: id })
  }
  return { type, id }
}

/** The repo's folder in the shared cache. */
export const repoFolderName = (repo: HubRepo): string => [`${repo.type}s`, ...repo.id.split("/")].join("--")

/** How the repo is shown to users and passed to @huggingface/hub ("datasets/org/name" for datasets). */
export const repoDesignation = (repo: HubRepo): string => (repo.type === "model" ? repo.id : `datasets/${repo.id}`)

export const isCommitSha = (revision: string): boolean => /^[0-9a-f]{40}$/.test(revision)
