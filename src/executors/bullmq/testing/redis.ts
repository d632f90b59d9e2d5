// Test support: Debian's redis-server on a loopback port with a temp dir (no persistence), stopped
// by the caller; `restart` stops and starts it on the same port (a Redis restart mid-run). Tests
// skip with the reason `redisUnavailable()` gives where it cannot run.
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export interface Redis {
  readonly url: string
  readonly port: number
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
}

const REDIS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p))

/** Why redis-server cannot run here (for a visible skip), or undefined when it can. */
export const redisUnavailable = (): string | undefined => (REDIS === undefined ? "redis-server is not installed (apt-get install redis-server)" : undefined)

const freePort = (): number => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

const ping = async (port: number): Promise<boolean> => {
  try {
    const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })
    socket.end()
    return true
  } catch {
    return false
  }
}

export const startRedis = async (dir: string): Promise<Redis> => {
  mkdirSync(dir, { recursive: true })
  const log = join(dir, "redis.log")
  const launch = async (port: number) => {
    const proc = Bun.spawn([REDIS!, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--logfile", log, "--daemonize", "no"], { stdout: "ignore", stderr: "ignore" })
    for (let i = 0; i < 200 && proc.exitCode === null; i++) {
      if (await ping(port)) return proc
      await Bun.sleep(25)
    }
    proc.kill()
    await proc.exited
    return undefined
  }
  for (let attempt = 0; ; attempt++) {
    const port = freePort()
    let proc = await launch(port)
    if (proc === undefined) {
      if (attempt >= 3) throw new Error(`redis-server did not start: ${existsSync(log) ? readFileSync(log, "utf8").slice(-500) : "no log"}`)
      continue
    }
    const stop = async () => {
      proc?.kill()
      await proc?.exited
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop,
      restart: async () => {
        await stop()
        proc = await launch(port)
        if (proc === undefined) throw new Error("redis-server did not restart")
      },
    }
  }
}
