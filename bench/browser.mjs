// What the Chromium benchmarks share: a fresh browser process per run with nothing attached
// (DevTools instrumentation reports every WebSocket frame and EventSource message to the driver
// and slows exactly what is measured), a results channel the page posts to, and a socket.io
// server that can be killed and started again on the same port.
import { createServer } from 'node:http'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { Server as SocketIoServer } from 'socket.io'
import WebSocket from 'ws'
import { CHROME_ARGS, CHROME_PATH } from '../scripts/chromium.mjs'

export const root = new URL('..', import.meta.url).pathname
export const version = (dir) => JSON.parse(readFileSync(root + dir + '/package.json', 'utf8')).version
export const PAD = 'x'.repeat(99)
export const wallClock = () => performance.timeOrigin + performance.now()
export const STATIC = ['bench/pages', 'bench/node_modules/socket.io-client/dist']
/** The machine, for the tables' headers. */
export const machine = () => `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB)`

export const chromeVersion = () =>
  new Promise((resolve, reject) => {
    const p = spawn(CHROME_PATH, ['--version'])
    let out = ''
    p.stdout.on('data', (c) => (out += c))
    p.on('error', () => reject(new Error(`no Chromium at ${CHROME_PATH}: install it (apt-get install -y chromium) or set CHROME_PATH`)))
    p.on('close', () => resolve(out.trim().replace(/^Chromium\s*/, '')))
  })

// Browsers still open; killed with the bench when it is interrupted or fails.
const open = new Set()
const killGroup = (child) => {
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {}
}
process.on('exit', () => open.forEach(killGroup))
process.on('SIGINT', () => process.exit(130))

/** A browser process showing one page, nothing attached to it. Returns its closer. */
export function openBrowser(url) {
  const profile = mkdtempSync(tmpdir() + '/subwire-bench-')
  // Its own process group, so the renderer and helper processes go with it.
  const child = spawn(CHROME_PATH, [...CHROME_ARGS, `--user-data-dir=${profile}`, url], { stdio: 'ignore', detached: true })
  open.add(child)
  return async () => {
    const exited = new Promise((r) => (child.exitCode !== null || child.signalCode ? r() : child.once('exit', r)))
    killGroup(child)
    open.delete(child)
    await exited
    rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  }
}

/** The page posts `/ready` and `/result` here (text/plain, no preflight). */
export async function startResults() {
  let waiting = {}
  const server = createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*')
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      res.end()
      if (req.method === 'POST') waiting[req.url]?.(JSON.parse(body || '{}'))
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    /** The next post to `path`, or an error with `timedOut: path` after `ms`. */
    next(path, ms = 60000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(Object.assign(new Error(`no ${path} from the page within ${ms} ms`), { timedOut: path })), ms)
        waiting[path] = (value) => {
          clearTimeout(timer)
          delete waiting[path]
          resolve(value)
        }
      })
    },
    reset() {
      waiting = {}
    },
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))),
  }
}

/**
 * A socket.io server. `kill()` destroys every connection and stops listening, as a crashed
 * process would; `start()` listens again on the same port.
 */
export async function startSocketIo({ transports = ['websocket', 'polling'], onConnection = () => {}, silentUpgrade = false } = {}) {
  let port = 0
  let http
  let io
  let sockets
  async function start() {
    sockets = new Set()
    http = createServer()
    http.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))))
    io = new SocketIoServer(http, { cors: { origin: '*' }, transports })
    io.on('connection', (socket) => handle.onConnection(socket))
    if (silentUpgrade) {
      // The WebSocket upgrade is accepted and then nothing is ever sent, as behind a proxy that
      // lets the handshake through and nothing after it. Polling still works.
      const silent = new WebSocket.Server({ noServer: true })
      http.removeAllListeners('upgrade')
      http.on('upgrade', (req, socket, head) => silent.handleUpgrade(req, socket, head, () => {}))
    }
    await new Promise((r) => http.listen(port, '127.0.0.1', r))
    port = http.address().port
  }
  async function kill() {
    for (const s of sockets) s.destroy()
    io.close()
    await new Promise((r) => http.close(r))
  }
  await start()
  const handle = {
    onConnection,
    get origin() {
      return `http://127.0.0.1:${port}`
    },
    emit: (data) => io.emit('message', data),
    start,
    kill,
    close: kill,
  }
  return handle
}
