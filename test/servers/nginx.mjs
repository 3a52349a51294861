// nginx as people put it in front of an app server, for the tests: Debian's nginx on a free port,
// behind a TCP proxy that can cut every connection. `buffering: true` is nginx's default
// (`proxy_pass` and nothing else: responses buffered, no WebSocket upgrade); `false` is the
// configuration the troubleshooting guide gives (`proxy_buffering off`, upgrade headers passed).
//
//   const front = await startNginx('http://127.0.0.1:8080', { buffering: true })
//   front.origin   // where the page goes
//   front.cut()    // drop every open connection to nginx
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, proxy, run, stop, waitForPort } from '../nchan/nchan.mjs'

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx'

const location = (upstream, buffering) =>
  buffering
    ? `proxy_pass ${upstream};`
    : `proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;`

export async function startNginx(upstream, { buffering = true } = {}) {
  if (!existsSync(NGINX)) throw new Error(`no nginx at ${NGINX}: install it (apt-get install -y nginx; .ci/run does), or set NGINX_PATH`)
  const dir = await mkdtemp(join(tmpdir(), 'subwire-nginx-'))
  for (const sub of ['body', 'proxy']) await mkdir(join(dir, sub))
  const port = await freePort()
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/proxy;
  scgi_temp_path ${dir}/proxy;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      ${location(upstream, buffering)}
    }
  }
}
`,
  )
  const nginx = run(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], 'nginx')
  await waitForPort(port)
  const front = await proxy(port)
  return {
    origin: `http://127.0.0.1:${front.port}`,
    cut: () => front.cut(),
    async close() {
      await front.closeAll().catch(() => {})
      await stop(nginx)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
