// The structured access log: one JSON object per request on its own line (time, method, path,
// status, duration, sizes, items and tokens, client address, error), for log shippers to parse.

export interface AccessEntry {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly ms: number
  readonly bytesIn: number
  readonly remote: string | undefined
  readonly items?: number
  readonly tokens?: number
  readonly error?: string
}

export type AccessLog = (entry: AccessEntry) => void

export const jsonLinesAccessLog =
  (out: { write(text: string): unknown }): AccessLog =>
  (entry) =>
    void out.write(JSON.stringify({ time: new Date().toISOString(), ...entry, ms: Math.round(entry.ms * 1000) / 1000 }) + "\n")

export const noAccessLog: AccessLog = () => {}
