// What a lock file can hold a node to, across machines. A step declares how its output relates
// to the machine it ran on:
//   portable    — the same bytes everywhere (synth, export, calibrate, quantize): checked byte for byte
//   host        — bound to a host class (compile for this CPU: its fingerprint holds the CPU's
//                 features): checked byte for byte where the lock knows the host class
//   measurement — different on every run by design (bench): the lock records that it ran
// A node consuming a host-bound or measured output inherits that class (deploy of a host-bound
// compile is host-bound too). Every node also has a *basis*: the hash of what it computes — step,
// version, params, the digests of portable inputs and the bases of the others — but not the
// fingerprint or the code. The basis is equal on every machine, so `--frozen` can check it for
// every node, everywhere, before the node runs.
import { canonicalJson, sha256Hex } from "../cache/canonical-json.ts"
import type { ActionKeyInputs } from "./action-key.ts"

export type Reproducibility = "portable" | "host" | "measurement"

const rank: Record<Reproducibility, number> = { portable: 0, host: 1, measurement: 2 }

export interface Identity {
  readonly reproducible: Reproducibility
  /** What the node computes, independent of the machine and of the code's digest. */
  readonly basis: string
  /** Digest of the node's code digest ("" for sources). */
  readonly code: string
  /** For host-bound nodes: the host class (from the fingerprints of the host-bound steps it depends on). */
  readonly hostClass?: string
}

/** What an input contributes to a consumer's identity. */
export interface IdentifiedInput {
  readonly output: string
  readonly identity: Identity
}

export const sourceIdentity = (key: string): Identity => ({ reproducible: "portable", basis: key, code: "" })

export const stepIdentity = (declared: Reproducibility, keyInputs: ActionKeyInputs, inputs: Readonly<Record<string, IdentifiedInput>>): Identity => {
  const reproducible = Object.values(inputs).reduce<Reproducibility>((worst, i) => (rank[i.identity.reproducible] > rank[worst] ? i.identity.reproducible : worst), declared)
  const basis = sha256Hex(
    canonicalJson({
      cacheSchema: keyInputs.cacheSchema,
      step: keyInputs.step,
      version: keyInputs.version,
      params: keyInputs.params,
      inputs: Object.fromEntries(Object.entries(inputs).map(([name, i]) => [name, i.identity.reproducible === "portable" ? i.output : `basis:${i.identity.basis}`])),
    }),
  )
  const code = sha256Hex(canonicalJson(keyInputs.code))
  if (reproducible !== "host") return { reproducible, basis, code }
  const upstream = Object.values(inputs).flatMap((i) => (i.identity.hostClass !== undefined ? [i.identity.hostClass] : []))
  const own = declared === "host" ? keyInputs.fingerprint : undefined
  const hostClass = `host-${sha256Hex(canonicalJson({ own, upstream: [...new Set(upstream)].sort() })).slice(0, 16)}`
  return { reproducible, basis, code, hostClass }
}
