// Signed action entries: what a remote tier stores under ac/<key> is an envelope holding the entry
// and an HMAC-SHA256 over its canonical JSON under KILN_CACHE_SIGNING_KEY. Whoever can write the
// remote store but lacks the key cannot make a runner serve an entry it forged; blobs need no
// signature (they are verified by content on every download).
import { createHmac, timingSafeEqual } from "node:crypto"
import { z } from "zod"
import { ActionEntry } from "../cache/action-cache.ts"
import { canonicalJson } from "../cache/canonical-json.ts"

const Envelope = z.object({ kilnSignedAction: z.literal(1), entry: z.unknown(), hmacSha256: z.string().regex(/^[0-9a-f]{64}$/) })

const hmacOf = (key: string, entry: ActionEntry): string => createHmac("sha256", key).update(canonicalJson(entry)).digest("hex")

export const signEntry = (key: string, entry: ActionEntry): Uint8Array =>
  new TextEncoder().encode(JSON.stringify({ kilnSignedAction: 1, entry, hmacSha256: hmacOf(key, entry) }) + "\n")

/** The entry when `bytes` is an envelope for `actionKey` signed under `key`; otherwise why not. */
export const openSignedEntry = (key: string, actionKey: string, bytes: Uint8Array): { readonly entry: ActionEntry } | { readonly rejected: string } => {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return { rejected: "not JSON" }
  }
  const envelope = Envelope.safeParse(json)
  if (!envelope.success) return { rejected: "unsigned (no kilnSignedAction envelope with an hmacSha256)" }
  const entry = ActionEntry.safeParse(envelope.data.entry)
  if (!entry.success) return { rejected: "its entry is malformed" }
  if (entry.data.key !== actionKey) return { rejected: `it is stored under ${actionKey} but names key ${entry.data.key}` }
  const expected = Buffer.from(hmacOf(key, entry.data), "hex")
  if (!timingSafeEqual(expected, Buffer.from(envelope.data.hmacSha256, "hex"))) return { rejected: "bad signature (not signed with this KILN_CACHE_SIGNING_KEY)" }
  return { entry: entry.data }
}
