// The exporter's version: recorded in every model it writes and in the pipeline step's
// fingerprint. Bump it whenever the emitted graph or folder layout changes.
export const EXPORTER_VERSION = "kiln-export/1"
