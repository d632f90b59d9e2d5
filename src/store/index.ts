// The store seam (store.ts), the remote tier the runtime consults (tier.ts) and the registry of
// remote stores by URL scheme (registry.ts).
export { type Store, StoreError } from "./store.ts"
export { RemoteCache, type RemoteTier, pullAction, pullTree, pushAction, pushTree } from "./tier.ts"
export { openStore, supportedSchemes } from "./registry.ts"
export { signEntry, openSignedEntry } from "./signing.ts"
