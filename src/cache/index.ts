// The artifact cache: content-addressed blobs, tree manifests, action entries, the stat memo,
// per-key locks and maintenance.
export { cacheLayout, resolveCacheRoot, type CacheLayout } from "./layout.ts"
export { blobPath, hasBlob } from "./blobs.ts"
export { readManifest, materialiseTree, digestInPlace, type TreeDigest, type TreeManifest } from "./tree.ts"
export { lookupAction, readActionEntry, type ActionEntry } from "./action-cache.ts"
export { openStatMemo, type StatMemo } from "./stat-memo.ts"
export { sha256File } from "./file-digest.ts"
export { cacheStatus, verifyCache, collectGarbage, listBlobs, listActionKeys } from "./maintenance.ts"
export { blobIntact, verifyEntry } from "./verify.ts"
export { CacheError } from "./errors.ts"
export { canonicalJson, sha256Hex } from "./canonical-json.ts"
