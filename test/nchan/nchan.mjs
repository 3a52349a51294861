// nchan for the tests: one Redis and N nginx nodes (Debian's nginx + libnginx-mod-nchan +
// redis-server), each on a free port, each behind a TCP proxy that can cut every connection or
// stop taking new ones. Everything runs in a temporary folder and is stopped by close().
//
//   const nchan = await startNchan({ nodes: 2 })
//   nchan.nodes[0].sub('prices')   // the URL a client subscribes to (through the proxy)
//   await nchan.publish(1, 'prices', 'hello')   // through node B, straight to nginx
//   nchan.nodes[0].cut()           // drop every open connection to node A
//   await nchan.nodes[0].stop()    // node A is gone
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx'
const MODULE = process.env.NCHAN_MODULE ?? '/usr/lib/nginx/modules/ngx_nchan_module.so'
const REDIS = process.env.REDIS_PATH ?? '/usr/bin/redis-server'
const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

export async function waitForPort(port, ms = 10_000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true)))
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`nothing listens on port ${port} after ${ms} ms`)
}

/** A TCP proxy to `target` that can cut every connection, and refuse new ones while stopped. */
export async function proxy(target) {
  const sockets = new Set()
  let refusing = false
  const server = createServer((client) => {
    if (refusing) return client.destroy()
    const upstream = connect(target, '127.0.0.1')
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(a)
      a.pipe(b)
      a.on('error', () => b.destroy())
      a.on('close', () => (sockets.delete(a), b.destroy()))
    }
  })
  const port = await freePort()
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    port,
    cut() {
      for (const socket of sockets) socket.destroy()
    },
    refuse(on) {
      refusing = on
      if (on) this.cut()
    },
    closeAll() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

export function run(command, args, name) {
  const child = spawn(command, args, { stdio: 'ignore' })
  child.on('exit', (code) => code && !child.stopping && console.error(`${name} exited with ${code}`))
  return child
}

/** SIGTERM (for nginx: fast shutdown, the master stops its workers and drops every connection), then wait. */
export function stop(child) {
  child.stopping = true
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.on('exit', resolve)
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 5000).unref()
  })
}

export async function startNchan({ nodes: count = 2 } = {}) {
  for (const [path, what] of [
    [NGINX, 'nginx'],
    [MODULE, 'the nchan module'],
    [REDIS, 'redis-server'],
  ]) {
    if (!existsSync(path)) {
      throw new Error(`no ${what} at ${path}: install it (apt-get install -y nginx libnginx-mod-nchan redis-server; .ci/run does), or set NGINX_PATH, NCHAN_MODULE, REDIS_PATH`)
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'subwire-nchan-'))
  const children = []
  const redisPort = await freePort()
  const redis = run(REDIS, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], 'redis-server')
  children.push(redis)
  await waitForPort(redisPort)
  const template = await readFile(new URL('./nginx.conf', import.meta.url), 'utf8')
  const nodes = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    const nodeDir = join(dir, `node${i}`)
    await mkdir(nodeDir)
    const conf = join(nodeDir, 'nginx.conf')
    await writeFile(conf, template.replaceAll('{{MODULE}}', MODULE).replaceAll('{{DIR}}', nodeDir).replaceAll('{{PORT}}', String(port)).replaceAll('{{REDIS_PORT}}', String(redisPort)).replaceAll('{{ROOT}}', ROOT))
    const nginx = run(NGINX, ['-c', conf, '-p', nodeDir, '-e', join(nodeDir, 'error.log')], `nginx node ${i}`)
    children.push(nginx)
    await waitForPort(port)
    const front = await proxy(port)
    const origin = `http://127.0.0.1:${front.port}`
    const direct = `http://127.0.0.1:${port}`
    nodes.push({
      origin,
      direct,
      sub: (channel) => `${origin}/sub/${channel}`,
      poll: (channel) => `${origin}/poll/${channel}`,
      cut: () => front.cut(),
      /** Node gone: nginx stopped, its proxy refusing. */
      async stop() {
        front.refuse(true)
        await stop(nginx)
      },
      front,
      errorLog: () => readFile(join(nodeDir, 'error.log'), 'utf8').catch(() => ''),
    })
  }
  return {
    nodes,
    redisPort,
    /** Publish through node `index` (straight to nginx); resolves with nchan's message id. */
    async publish(index, channel, data) {
      // A node just started answers 503 until its Redis connection is up: asked again for up to 5 s.
      for (let waited = 0; ; waited += 100) {
        const response = await fetch(`${nodes[index].direct}/pub/${channel}`, { method: 'POST', body: data, headers: { accept: 'text/json' } })
        if (response.status === 503 && waited < 5000) {
          await new Promise((r) => setTimeout(r, 100))
          continue
        }
        if (response.status >= 300) throw new Error(`publish: HTTP ${response.status}`)
        return (await response.json()).last_message_id
      }
    },
    async close() {
      for (const node of nodes) await node.front.closeAll().catch(() => {})
      await Promise.all(children.map(stop))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
