// Test support: an S3-compatible server on a loopback port — s3rver (npm, a dev dependency) run
// by Bun as its own process, with a temp data dir and one bucket made at start. It speaks the S3
// REST API Bun.S3Client uses (path-style GET / PUT / HEAD, multipart uploads, listing, SigV4), so
// the S3 store is tested against a server and not against a mock. Stopped by the caller.
import { mkdirSync } from "node:fs"
import { join } from "node:path"

export interface S3rver {
  /** `s3://<bucket>` — add a prefix per test. */
  readonly url: string
  /** AWS_* variables pointing the S3 store at this server. */
  readonly env: Record<string, string>
  /** A client on the bucket, for tests to look at or tamper with what is stored. */
  readonly client: Bun.S3Client
  readonly stop: () => Promise<void>
}

const BUCKET = "kiln-test"

const binary = (): string | undefined => {
  try {
    return Bun.resolveSync("s3rver/bin/s3rver.js", import.meta.dir)
  } catch {
    return undefined
  }
}

/** Why s3rver cannot run here (for a visible skip), or undefined when it can. */
export const s3rverUnavailable = (): string | undefined => (binary() === undefined ? "the s3rver dev dependency is not installed (bun install)" : undefined)

export const startS3rver = async (dir: string): Promise<S3rver> => {
  mkdirSync(join(dir, "data"), { recursive: true })
  const proc = Bun.spawn([process.execPath, binary()!, "-d", join(dir, "data"), "-a", "127.0.0.1", "-p", "0", "--silent", "--no-vhost-buckets", "--configure-bucket", BUCKET], {
    stdout: "pipe",
    stderr: Bun.file(join(dir, "stderr.log")),
  })
  // It prints "S3rver listening on 127.0.0.1:<port>" once the bucket exists and it accepts requests.
  const reader = proc.stdout.getReader()
  let out = ""
  const deadline = Date.now() + 30_000
  while (!/listening on [\d.]+:(\d+)/.test(out)) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => ({ done: true, value: undefined }))])
    if (chunk.done) {
      proc.kill()
      throw new Error(`s3rver did not start: ${out}${await Bun.file(join(dir, "stderr.log")).text().catch(() => "")}`)
    }
    out += new TextDecoder().decode(chunk.value)
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done);
  })()
  const port = /listening on [\d.]+:(\d+)/.exec(out)![1]!
  const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` }
  const client = new Bun.S3Client({ accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_S3, bucket: BUCKET })
  return { url: `s3://${BUCKET}`, env, client, stop: async () => void (proc.kill(), await proc.exited) }
}
