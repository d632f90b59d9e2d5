// Test support: Debian's nginx with its WebDAV module on a loopback port, serving a temp root in
// Bazel's layout (PUT creates cas/ and ac/ paths; nginx writes a PUT body to a temp file and
// renames it, so a reader never sees half a blob). One process (master_process off), as the
// current user; stopped by the caller.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export interface Nginx {
  readonly url: string
  /** The served root: cas/<sha256>, ac/<key>. */
  readonly root: string
  readonly stop: () => Promise<void>
}

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p))

/** Why nginx cannot run here (for a visible skip), or undefined when it can. */
export const nginxUnavailable = (): string | undefined => {
  if (NGINX === undefined) return "nginx is not installed (apt-get install nginx)"
  const version = Bun.spawnSync([NGINX, "-V"], { stderr: "pipe" }).stderr.toString()
  if (!version.includes("http_dav_module")) return `${NGINX} has no WebDAV module (http_dav_module)`
  return undefined
}

const freePort = (): number => {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

export const startNginx = async (dir: string): Promise<Nginx> => {
  const root = join(dir, "root")
  for (const d of [root, join(dir, "body"), join(dir, "logs")]) mkdirSync(d, { recursive: true })
  for (let attempt = 0; ; attempt++) {
    const port = freePort()
    const conf = join(dir, "nginx.conf")
    writeFileSync(
      conf,
      `master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/body; fastcgi_temp_path ${dir}/body; uwsgi_temp_path ${dir}/body; scgi_temp_path ${dir}/body;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    client_max_body_size 0;
    location / { dav_methods PUT; create_full_put_path on; dav_access user:rw group:r all:r; }
  }
}
`,
    )
    const proc = Bun.spawn([NGINX!, "-p", dir, "-c", conf, "-g", "daemon off;"], { stdout: "ignore", stderr: "pipe" })
    const url = `http://127.0.0.1:${port}`
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      const up = await fetch(`${url}/`, { method: "HEAD" }).then(() => true, () => false)
      if (up) return { url, root, stop: async () => void (proc.kill(), await proc.exited) }
      await Bun.sleep(20)
    }
    proc.kill()
    await proc.exited
    if (attempt >= 3) throw new Error(`nginx did not start: ${readFileSync(join(dir, "logs", "error.log"), "utf8").slice(-500)}`)
  }
}
