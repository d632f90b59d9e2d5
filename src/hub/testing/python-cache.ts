// Writes a repo into a cache folder the way Python's huggingface_hub does (blobs named by etag,
// relative symlinks from snapshots/<sha>/ into ../../blobs/, refs/<branch> holding the sha), so
// tests can check kiln finds such a folder without any download.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { gitOid, sha256Hex, type FakeFile } from "./fake-hub.ts"

export const writePythonCache = (cacheDir: string, repo: { type: "model" | "dataset"; id: string }, commit: string, files: Record<string, FakeFile>, refs: Record<string, string> = {}): string => {
  const root = join(cacheDir, [`${repo.type}s`, ...repo.id.split("/")].join("--"))
  mkdirSync(join(root, "blobs"), { recursive: true })
  for (const [path, file] of Object.entries(files)) {
    const etag = file.lfs === true ? sha256Hex(file.bytes) : gitOid(file.bytes)
    writeFileSync(join(root, "blobs", etag), file.bytes)
    const link = join(root, "snapshots", commit, path)
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(relative(dirname(link), join(root, "blobs", etag)), link)
  }
  for (const [name, sha] of Object.entries(refs)) {
    mkdirSync(dirname(join(root, "refs", name)), { recursive: true })
    writeFileSync(join(root, "refs", name), sha)
  }
  return root
}
