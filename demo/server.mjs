// The reference server: subwire's wire protocol (docs/protocol.md) for all four transports on one
// port, with node:http and the `ws` package only. It keeps a replay buffer for resume by id, sends
// heartbeats, and has fault switches that tests and the demo use to break things on purpose.
//
//   import { startServer } from './demo/server.mjs'
//   const server = await startServer({ port: 0 })
//   server.publish({ event: 'price', data: '42' })
//
// Control over HTTP (used by the demo page): POST /control/<action> with a JSON body.
import { createServer } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const STATIC_DIRS = ['dist', 'demo', 'test/browser/pages', 'docs']
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.md': 'text/plain; charset=utf-8',
}

/** The data of one framed event (what a raw WebSocket frame carries). */
function parseData(text) {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice(6))
    .join('\n')
}

/** Encode one stored event in the SSE field syntax (also the WebSocket and polling framing). */
export function frame({ id, event, data, retry }) {
  let out = ''
  if (id !== undefined) out += `id: ${id}\n`
  if (event) out += `event: ${event}\n`
  if (retry !== undefined) out += `retry: ${retry}\n`
  for (const line of String(data).split(/\r\n|\r|\n/)) out += `data: ${line}\n`
  return out + '\n'
}

/**
 * @param {object} [options]
 * @param {number} [options.port] 0 picks a free port
 * @param {string} [options.host]
 * @param {number} [options.heartbeatMs] comment/heartbeat interval on streams (0: none)
 * @param {boolean} [options.greeting] send a heartbeat comment as soon as a stream opens (default true)
 * @param {string} [options.pingEvent] heartbeats as this named event with empty data (as hono's streamSSE users do) instead of comments
 * @param {'comment'|'ping'} [options.wsKeepalive] WebSocket heartbeats as comments (default) or protocol PING frames (as nchan)
 * @param {'sse'|'raw'} [options.wsFrames] WebSocket frames in SSE field syntax (default) or each event's data alone, without ids
 * @param {number} [options.holdMs] long-poll hold before an empty 204
 * @param {number} [options.replayLimit] events kept for resume
 * @param {number} [options.retryMs] `retry` sent at the start of each stream
 * @param {Map<string, Uint8Array|string>} [options.raw] fixed byte streams served at /raw/<name>
 * @param {boolean} [options.accelBuffering] send `X-Accel-Buffering: no` on streams (default true; false: as most servers, which leave a proxy in front to buffer)
 * @param {string[]} [options.staticDirs] more folders (relative to the repository) to serve files from
 * @param {{ http?: (req, res, url) => boolean | Promise<boolean>, upgrade?: (req, socket, head, url, wss) => boolean }} [options.handlers]
 *   routes of a test's own: each returns true when it handled the request
 */
export async function startServer(options = {}) {
  const {
    port = 0,
    host = '127.0.0.1',
    heartbeatMs = 15000,
    holdMs = 25000,
    replayLimit = 100000,
    retryMs,
    raw = new Map(),
    staticDirs = [],
    handlers = {},
    greeting = true,
    pingEvent,
    wsKeepalive = 'comment',
    wsFrames = 'sse',
    accelBuffering = true,
  } = options
  const heartbeat = pingEvent ? `event: ${pingEvent}\ndata: \n\n` : ': heartbeat\n\n'
  const hello = `${retryMs !== undefined ? `retry: ${retryMs}\n` : ''}${greeting ? `: heartbeat ${heartbeatMs}\n` : ''}`
  const servedDirs = [...STATIC_DIRS, ...staticDirs]

  /** @type {{id: number, event?: string, data: string}[]} */
  const log = []
  let nextId = 1
  const streams = new Set() // live SSE responses and WebSockets: { kind, send(text), close() }
  const waiters = new Set() // held long polls
  let peak = 0 // the most streams and held polls open at once
  const history = [] // the last 50 streams and held polls: { url, from, since, until }
  const opened = (entry, req, lastEventId) => {
    entry.rec = { url: req.url, from: lastEventId ?? null, since: Date.now() }
    history.push(entry.rec)
    history.splice(0, history.length - 50)
    peak = Math.max(peak, streams.size + waiters.size)
  }
  const closed = (entry) => void (entry.rec && (entry.rec.until ??= Date.now()))
  const connections = [] // every connect/poll: { transport, lastEventId, at }
  const faults = {
    refuse: new Set(), // transports answered with 503 (HTTP) or a refused upgrade (websocket)
    unavailable: 0, // next N requests of any transport: 503 with Retry-After
    retryAfter: '1',
    delayMs: 0, // hold every response this long before answering
    starveWebSocket: false, // accept the upgrade, then send nothing at all
    killWebSocket: false, // accept the upgrade, then cut the connection at once
    bufferSse: 0, // SSE: hold bytes and flush every N ms, like a buffering proxy
    gone: 0, // next N requests of any HTTP transport: 410 Gone (a deleted channel, as nchan says it)
  }
  let generator

  /**
   * The events after `lastEventId`. When the server cannot resume from it (not one of its ids, one
   * from the future, or older than the replay buffer), a `reset` event comes first (protocol.md),
   * then what the buffer holds.
   */
  function replayFrom(lastEventId) {
    if (lastEventId === undefined || lastEventId === '') return log.slice()
    const n = Number(lastEventId)
    const first = log.length ? log[0].id : nextId
    if (!Number.isInteger(n) || n >= nextId || n + 1 < first) return [{ event: 'reset', data: String(first - 1) }, ...log]
    return log.slice(Math.max(0, n + 1 - first))
  }

  function publish(input) {
    const event = { id: nextId++, data: String(input.data ?? '') }
    if (input.event) event.event = input.event
    log.push(event)
    if (log.length > replayLimit) log.splice(0, log.length - replayLimit)
    const text = frame(event)
    for (const s of streams) s.send(text)
    for (const w of waiters) w.flush()
    return event.id
  }

  function record(transport, lastEventId, req) {
    connections.push({ transport, lastEventId: lastEventId ?? null, at: Date.now(), url: req.url })
  }

  function dropAll() {
    for (const s of [...streams]) s.close()
    for (const w of [...waiters]) w.abort()
  }

  /** End every stream cleanly (an SSE response that ends, a WebSocket closed with 1000). */
  function endAll() {
    for (const s of [...streams]) s.end()
  }

  /** Write raw text to every live stream (SSE and WebSocket), e.g. a block a test wants to see handled. */
  function inject(text) {
    for (const s of streams) s.send(text)
  }

  const server = createServer(async (req, res) => {
    try {
      await route(req, res)
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(String(err && err.message))
    }
  })

  function cors(req, res) {
    const origin = req.headers.origin
    if (origin) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('access-control-allow-credentials', 'true')
      res.setHeader('access-control-expose-headers', 'etag, retry-after')
      res.setHeader('vary', 'origin')
    }
  }

  async function route(req, res) {
    const url = new URL(req.url, 'http://x')
    cors(req, res)
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': '600',
      })
      return res.end()
    }
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end()
    if (handlers.http && (await handlers.http(req, res, url))) return
    if (url.pathname === '/') {
      res.writeHead(302, { location: '/demo/index.html' })
      return res.end()
    }
    if (url.pathname.startsWith('/raw/')) return serveRaw(url, res)
    if (url.pathname === '/events') return serveEvents(req, res, url)
    if (url.pathname.startsWith('/control/') && req.method === 'POST') return control(req, res, url)
    if (url.pathname === '/control/state') return json(res, snapshot())
    return serveStatic(url, res)
  }

  function serveRaw(url, res) {
    const body = raw.get(decodeURIComponent(url.pathname.slice(5)))
    if (body === undefined) return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.end(body)
  }

  async function serveStatic(url, res) {
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '')
    if (!servedDirs.some((d) => rel === d || rel.startsWith(d + sep) || rel.startsWith(d + '/'))) {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    }
    const file = join(ROOT, rel)
    if (!file.startsWith(ROOT)) return void res.writeHead(403).end()
    try {
      const info = await stat(file)
      if (!info.isFile()) throw new Error('not a file')
      const body = await readFile(file)
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
      res.end(body)
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    }
  }

  function json(res, value, status = 200) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(value))
  }

  function snapshot() {
    return {
      lastId: nextId - 1,
      open: [...streams].map((s) => s.kind),
      waiting: waiters.size,
      connections: connections.slice(-50),
      faults: { ...faults, refuse: [...faults.refuse] },
    }
  }

  async function readBody(req) {
    let text = ''
    for await (const chunk of req) {
      text += chunk
      if (text.length > 65536) throw new Error('body too large')
    }
    return text ? JSON.parse(text) : {}
  }

  async function control(req, res, url) {
    const body = await readBody(req)
    const action = url.pathname.slice('/control/'.length)
    switch (action) {
      case 'publish':
        return json(res, { id: publish(body) })
      case 'drop':
        dropAll()
        break
      case 'refuse':
        faults.refuse = new Set(body.transports ?? [])
        dropAll()
        break
      case 'unavailable':
        faults.unavailable = body.count ?? 1
        faults.retryAfter = String(body.retryAfter ?? '1')
        break
      case 'faults':
        Object.assign(faults, body, body.refuse ? { refuse: new Set(body.refuse) } : {})
        break
      case 'restart':
        await restart(body.downMs ?? 1000)
        break
      case 'generate':
        generate(body)
        break
      case 'reset':
        faults.refuse = new Set()
        faults.unavailable = 0
        faults.delayMs = 0
        faults.starveWebSocket = false
        faults.killWebSocket = false
        faults.bufferSse = 0
        faults.gone = 0
        break
      default:
        return json(res, { error: `unknown action ${action}` }, 404)
    }
    return json(res, snapshot())
  }

  // A restart as a client sees it: every connection dies and new ones are refused for a while.
  let downUntil = 0
  async function restart(downMs) {
    downUntil = Date.now() + downMs
    dropAll()
  }

  function generate({ intervalMs = 0, kinds = ['tick'] } = {}) {
    if (generator) clearInterval(generator)
    generator = undefined
    if (!intervalMs) return
    let n = 0
    generator = setInterval(() => {
      n++
      for (const kind of kinds) {
        const event = demoEvent(kind, n)
        if (event) publish(event)
      }
    }, intervalMs)
    generator.unref()
  }

  /** Shared gate for every transport: refused, restarting, unavailable, delayed. */
  async function gate(transport, res) {
    if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs).unref())
    if (Date.now() < downUntil) {
      res.destroy()
      return false
    }
    if (faults.refuse.has(transport)) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`${transport} refused by fault switch`)
      return false
    }
    if (faults.gone > 0) {
      faults.gone--
      res.writeHead(410, { 'content-type': 'text/plain' }).end('gone')
      return false
    }
    if (faults.unavailable > 0) {
      faults.unavailable--
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': faults.retryAfter }).end('unavailable')
      return false
    }
    return true
  }

  function lastIdOf(req, url) {
    const header = req.headers['last-event-id']
    if (typeof header === 'string') return header
    return url.searchParams.get('lastEventId') ?? undefined
  }

  async function serveEvents(req, res, url) {
    const transport = url.searchParams.get('transport') ?? (String(req.headers.accept).includes('text/event-stream') ? 'eventsource' : 'poll')
    const lastEventId = lastIdOf(req, url)
    record(transport, lastEventId, req)
    if (!(await gate(transport, res))) return
    if (transport === 'longpoll') return longPoll(req, res, lastEventId)
    if (transport === 'poll') return shortPoll(req, res, lastEventId)
    return sse(req, res, lastEventId)
  }

  function sse(req, res, lastEventId) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      ...(accelBuffering && { 'x-accel-buffering': 'no' }),
    })
    let held = ''
    let flushTimer
    const write = (text) => {
      // Bytes still held go out first, even once the fault is off: a proxy keeps their order.
      if (!faults.bufferSse && !held) return void res.write(text)
      held += text
      flushTimer ??= setTimeout(() => {
        flushTimer = undefined
        res.write(held)
        held = ''
      }, faults.bufferSse || 0)
    }
    if (hello) write(`${hello}\n`)
    for (const event of replayFrom(lastEventId)) write(frame(event))
    const hb = heartbeatMs ? setInterval(() => write(heartbeat), heartbeatMs) : undefined
    hb?.unref()
    const stream = {
      kind: 'eventsource',
      send: write,
      close() {
        cleanup()
        res.destroy()
      },
      end() {
        cleanup()
        res.end()
      },
    }
    const cleanup = () => {
      clearInterval(hb)
      clearTimeout(flushTimer)
      streams.delete(stream)
      closed(stream)
    }
    streams.add(stream)
    opened(stream, req, lastEventId)
    res.on('close', cleanup)
  }

  function batch(lastEventId, limit = 1000) {
    const events = replayFrom(lastEventId)
    return events.length > limit ? events.slice(0, limit) : events
  }

  function longPoll(req, res, lastEventId) {
    const respond = (events) => {
      if (events.length === 0) return void res.writeHead(204, { 'cache-control': 'no-store' }).end()
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' })
      res.end(events.map(frame).join(''))
    }
    const ready = batch(lastEventId)
    if (ready.length) return respond(ready)
    const waiter = {
      flush() {
        done()
        respond(batch(lastEventId))
      },
      abort() {
        done()
        res.destroy()
      },
    }
    const timer = setTimeout(() => waiter.flush(), holdMs)
    timer.unref()
    const done = () => {
      clearTimeout(timer)
      waiters.delete(waiter)
      closed(waiter)
    }
    waiters.add(waiter)
    opened(waiter, req, lastEventId)
    res.on('close', done)
  }

  function shortPoll(req, res, lastEventId) {
    const events = batch(lastEventId)
    const etag = `"${events.length ? events[events.length - 1].id : lastEventId || 0}"`
    if (req.headers['if-none-match'] === etag && events.length === 0) {
      return void res.writeHead(304, { etag, 'cache-control': 'no-store' }).end()
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', etag })
    res.end(events.map(frame).join(''))
  }

  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', async (req, socket, head) => {
    const url = new URL(req.url, 'http://x')
    if (handlers.upgrade?.(req, socket, head, url, wss)) return
    if (url.pathname !== '/events') return socket.destroy()
    const lastEventId = url.searchParams.get('lastEventId') ?? undefined
    record('websocket', lastEventId, req)
    if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs).unref())
    if (Date.now() < downUntil || faults.refuse.has('websocket')) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (faults.killWebSocket) return void setTimeout(() => ws.terminate(), 20)
      const starved = faults.starveWebSocket
      const raw = wsFrames === 'raw'
      const send = (text) => {
        if (!starved && ws.readyState === ws.OPEN) ws.send(text)
      }
      if (hello && !raw) send(`${hello}\n`)
      const replay = replayFrom(lastEventId)
      if (raw) for (const event of replay) send(event.data)
      else for (let i = 0; i < replay.length; i += 200) send(replay.slice(i, i + 200).map(frame).join(''))
      const hb = heartbeatMs
        ? setInterval(() => (wsKeepalive === 'ping' || raw ? ws.readyState === ws.OPEN && ws.ping() : send(heartbeat)), heartbeatMs)
        : undefined
      hb?.unref()
      const stream = {
        kind: 'websocket',
        // Raw frames: an event's data alone; heartbeats and comments are not sent as frames.
        send: raw ? (text) => (text.startsWith(':') || text.startsWith('event: ' + pingEvent) ? undefined : send(parseData(text))) : send,
        close() {
          cleanup()
          ws.terminate()
        },
        end() {
          cleanup()
          ws.close(1000)
        },
      }
      const cleanup = () => {
        clearInterval(hb)
        streams.delete(stream)
        closed(stream)
      }
      streams.add(stream)
      opened(stream, req, lastEventId)
      ws.on('close', cleanup)
      ws.on('error', cleanup)
    })
  })

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const address = server.address()
  const origin = `http://${host}:${address.port}`

  return {
    origin,
    port: address.port,
    eventsUrl: `${origin}/events`,
    publish,
    dropAll,
    endAll,
    inject,
    restart,
    generate,
    faults,
    connections,
    history,
    /** Streams (SSE responses, WebSockets) and held long polls open now. */
    live: () => streams.size + waiters.size,
    /** The most streams and held polls open at once since the last call (which starts a new count). */
    peak() {
      const most = peak
      peak = streams.size + waiters.size
      return most
    },
    log,
    raw,
    async close() {
      if (generator) clearInterval(generator)
      dropAll()
      wss.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** What `npm run demo` runs: the server's options and the live data it generates. */
export const DEMO = {
  server: { heartbeatMs: 1000, holdMs: 20000 },
  generate: { intervalMs: 150, kinds: ['price', 'notice', 'token', 'clock'] },
}

const ANSWER =
  'Server push means the server speaks first. subwire picks the transport that works on this network, resumes from the last event id after every drop, and never shows the same event twice.'.split(' ')

/**
 * Events the demo shows: prices, notifications (every 8th tick), an LLM-style token stream, and a
 * plain `message` about once a second (what a first `on('message')` listener receives).
 */
export function demoEvent(kind, n) {
  switch (kind) {
    case 'clock':
      if (n % 7) return undefined
      return { data: `tick ${n / 7} at ${new Date().toISOString()}` }
    case 'token': {
      const i = n % (ANSWER.length + 4)
      // A pause of a few ticks between answers, like a model thinking.
      if (i >= ANSWER.length) return undefined
      return { event: 'token', data: JSON.stringify({ n, t: ANSWER[i], end: i === ANSWER.length - 1 }) }
    }
    case 'price':
      return { event: 'price', data: JSON.stringify({ symbol: 'SWR', price: +(100 + 10 * Math.sin(n / 10)).toFixed(2), n }) }
    case 'notice':
      if (n % 8) return undefined
      return { event: 'notice', data: JSON.stringify({ n, text: `Notification #${n}` }) }
    default:
      return { data: String(n) }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer({ port: Number(process.env.PORT ?? 8080) })
  console.log(`subwire reference server on ${server.origin}`)
}
