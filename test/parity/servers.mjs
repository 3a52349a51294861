// Plain servers for the parity matrix: what people write with node:http and `ws`, nothing tuned for
// subwire. Each server publishes numbered events (data "e1", "e2", …) on a schedule that starts with
// its first request, keeps them in a log, and misbehaves as its scenario says: cuts its streams,
// answers one event per response, goes down for a while, restarts its id sequence.
//
// Resume is what such servers do: the SSE server reads only the standard Last-Event-ID header (a
// request without it, or with an id the server does not know, gets the whole log); the WebSocket
// and long-poll servers read `?lastEventId=`. Counting is by data, so a restarted id sequence does
// not hide a duplicate or a loss.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createGzip } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The page a same-origin client runs in, and the build it loads: served by the plain server too. */
const PAGE_FILES = /^\/(dist\/subwire\.mjs|test\/browser\/pages\/parity\.(html|mjs))$/

/**
 * @typedef {object} Scenario
 * @property {number} total events to publish
 * @property {number} interval ms between events
 * @property {number} [cutEvery] after every N-th published event, cut the open streams
 * @property {'end'|'reset'} [cutHow] a clean end of the response / WebSocket close 1000, or a reset
 * @property {boolean} [onePerResponse] each response carries the next event, then ends (with `ids: 'absent'`:
 *   the tutorial server, which makes the next event when asked for one, at once)
 * @property {boolean} [atOnce] each response carries what was published after its Last-Event-ID, often nothing, and ends at once (the PHP script that checks and exits)
 * @property {number} [retry] the SSE `retry` field, sent at the start of each response (over WebSocket, a `{ retry }` frame first)
 * @property {{ after: number, ms: number }} [down] after event N: every connection cut, new ones refused for ms
 * @property {'present'|'absent'|'restart'|'constant'} [ids] `absent`: no ids, and events are produced only while a client listens;
 *   `constant`: every event has the same id (`live`: an id that names the stream, not a position), nothing is replayed,
 *   and events are produced only while a client listens;
 *   `restart`: before event `restartAt` the server stops publishing for a moment (a graceful shutdown: what
 *   was published has gone out), then restarts with an empty log and ids from 1 again
 * @property {number} [restartAt]
 * @property {number} [keepalive] a comment every N ms on each stream
 * @property {number} [lines] data lines per event
 * @property {string[]} [types] event types, in turn (default: none, i.e. `message`)
 * @property {boolean} [hello] each SSE response and WebSocket connection starts with a greeting without an id (`event: hello`)
 * @property {string} [eol] the SSE line end (default "\n"; "\r\n" as many frameworks write it, or "\r")
 * @property {boolean} [bom] each SSE response starts with a byte order mark
 * @property {boolean} [partial] at a cut, the SSE streams get the cut's event half written (its id and data, no blank line) before they are cut
 * @property {number} [burst] events published at once on each tick (default 1)
 * @property {number} [size] characters of data per event (padded after its first line's number)
 * @property {boolean} [redirect] an SSE request is answered with a 307 to the stream's real path
 * @property {boolean} [exact] the SSE server routes on the exact URL (`req.url === '/events'`, as node:http tutorials do): anything else is a 404
 * @property {boolean} [unicode] each event's data carries text outside ASCII after its number (two-, three- and four-byte UTF-8)
 * @property {boolean} [gzip] the SSE server compresses its stream (`Content-Encoding: gzip`, flushed after every write, as
 *   compression middleware does for event streams; streams only, not with `onePerResponse`)
 * @property {number} [trickle] the SSE server writes its stream N bytes at a time, each piece in its own turn of the event loop
 *   (a proxy or a slow link that splits lines, fields and characters anywhere)
 */

/** The text outside ASCII that `unicode` events carry after their number. */
export const UNICODE = ' é€😀 ü ∑ 🚀'

/** The data of event number k (its first line is `e<k>`). */
export function dataOf(k, lines = 1, size = 0, unicode = false) {
  let data = `e${k}${unicode ? UNICODE : ''}`
  if (size > data.length) data += ' ' + 'x'.repeat(size - data.length - 1)
  for (let i = 1; i < lines; i++) data += `\nline ${i} of e${k}`
  return data
}

function corsHeaders(req, cors) {
  if (cors === 'same' || !req.headers.origin) return {}
  return { 'access-control-allow-origin': req.headers.origin }
}

/**
 * A server for one client. `kind`: 'sse' | 'ws' | 'longpoll'. `cors`: 'same' (the page's own origin
 * asks), 'origin' (Access-Control-Allow-Origin on every response; OPTIONS answered without
 * allowing any request header, so a request that needs a preflight fails), 'preflight' (OPTIONS
 * answered, Last-Event-ID allowed).
 */
export async function plainServer(kind, scenario, cors = 'same') {
  const { total, interval, cutEvery = 0, cutHow = 'end', onePerResponse = false, atOnce = false, retry, down, ids = 'present', restartAt = 0, keepalive = 0, lines = 1, types = [], hello = false, eol = '\n', bom = false, partial = false, burst = 1, size = 0, redirect = false, exact = false, unicode = false, trickle = 0, gzip = false } = scenario
  /** @type {{ id?: string, k: number, type?: string }[]} */
  let log = []
  let published = 0
  // Events made by the tutorial server (one per response, no ids).
  let served = 0
  let sequence = 0
  let started = false
  let downUntil = 0
  let drainUntil = 0
  let timer
  const streams = new Set()
  const waiters = new Set()
  const stats = { requests: 0, preflights: 0, withHeader: 0, withQuery: 0, upgrades: 0 }

  const typeOf = (k) => (types.length ? types[(k - 1) % types.length] : undefined)
  const eventAt = (k) => ({ id: ids === 'absent' ? undefined : ids === 'constant' ? 'live' : String(++sequence), k, type: typeOf(k) })
  const fields = (e) => `${e.id !== undefined ? `id: ${e.id}${eol}` : ''}${e.type ? `event: ${e.type}${eol}` : ''}${dataOf(e.k, lines, size, unicode).split('\n').map((l) => `data: ${l}${eol}`).join('')}`
  const sseFrame = (e) => fields(e) + eol
  const jsonOf = (e) => ({ ...(e.id !== undefined ? { id: e.id } : {}), ...(e.type ? { event: e.type } : {}), data: dataOf(e.k, lines, size, unicode) })

  function cutAll() {
    for (const s of [...streams]) (cutHow === 'reset' || Date.now() < downUntil ? s.reset : s.end)()
  }

  function publish() {
    for (let i = 0; i < burst; i++) publishOne()
  }

  function publishOne() {
    if (published >= total) return
    // Without ids nothing can be resumed: events are produced only while someone listens.
    if ((ids === 'absent' || ids === 'constant') && streams.size === 0 && waiters.size === 0) return
    if (Date.now() < drainUntil) return
    if (ids === 'restart' && published === restartAt - 1 && !drainUntil) return void (drainUntil = Date.now() + 300)
    const k = ++published
    if (ids === 'restart' && k === restartAt) {
      // A restart: the connections die, the log is gone, ids start again from 1.
      log = []
      sequence = 0
      for (const s of [...streams]) s.reset()
    }
    const event = eventAt(k)
    log.push(event)
    const cut = cutEvery && k % cutEvery === 0 && k < total
    for (const s of streams) (cut && partial && s.half ? s.half : s.send)(event)
    for (const w of [...waiters]) w()
    if (down && k === down.after) {
      downUntil = Date.now() + down.ms
      for (const s of [...streams]) s.reset()
      for (const w of [...waiters]) w(true)
    } else if (cut) cutAll()
  }

  function start() {
    if (started) return
    started = true
    timer = setInterval(publish, interval)
  }

  /** The events after `id` (the whole log when it is absent or unknown). */
  function after(id) {
    if (ids === 'absent' || ids === 'constant') return []
    if (id === undefined || id === '') return log.slice()
    const i = log.findIndex((e) => e.id === id)
    return i < 0 ? log.slice() : log.slice(i + 1)
  }

  function refuse(socket) {
    if (Date.now() >= downUntil) return false
    socket.destroy()
    return true
  }

  const server = createServer((req, res) => {
    if (req.url === '/favicon.ico') return void res.writeHead(204).end()
    const file = PAGE_FILES.exec(req.url)
    if (file) {
      res.writeHead(200, { 'content-type': file[1].endsWith('html') ? 'text/html' : 'text/javascript', 'cache-control': 'no-store' })
      return res.end(readFileSync(ROOT + file[1]))
    }
    if (req.method === 'OPTIONS') stats.preflights++
    else stats.requests++
    start()
    if (refuse(req.socket)) return
    // A preflight: answered with the header allowed ('preflight'), or as a web framework answers
    // OPTIONS by default ('origin': an empty answer that allows no request header).
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...corsHeaders(req, cors), ...(cors === 'preflight' && { 'access-control-allow-headers': 'last-event-id', 'access-control-max-age': '600' }) })
      return res.end()
    }
    const url = new URL(req.url, 'http://x')
    if (kind === 'longpoll') return longPoll(req, res, url)
    if (kind !== 'sse') return void res.writeHead(404, corsHeaders(req, cors)).end()
    if (exact && req.url !== (redirect ? '/stream' : '/events')) return void res.writeHead(404, corsHeaders(req, cors)).end()
    if (redirect && url.pathname !== '/stream') return void res.writeHead(307, { location: '/stream', ...corsHeaders(req, cors) }).end()
    // A plain SSE server reads the standard header, nothing else.
    const header = req.headers['last-event-id']
    if (header !== undefined) stats.withHeader++
    if (url.searchParams.has('lastEventId')) stats.withQuery++
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', ...(gzip && { 'content-encoding': 'gzip' }), ...corsHeaders(req, cors) })
    const out = gzip ? createGzip() : res
    if (gzip) out.pipe(res)
    const write = writer(out)
    if (bom) write('\uFEFF')
    if (retry !== undefined) write(`retry: ${retry}${eol}${eol}`)
    if (hello) write(`event: hello${eol}data: connected${eol}${eol}`)
    if (onePerResponse) return onePerResponseAnswer(req, res, header)
    if (atOnce) return void out.end(after(header).map(sseFrame).join(''))
    let ka
    const stream = {
      send: (e) => write(sseFrame(e)),
      half: (e) => write(fields(e)),
      end: () => (cleanup(), out.end()),
      reset: () => (cleanup(), res.destroy()),
    }
    const cleanup = () => {
      clearInterval(ka)
      streams.delete(stream)
    }
    streams.add(stream)
    res.on('close', cleanup)
    const replay = after(header)
    if (replay.length) write(replay.map(sseFrame).join(''))
    if (keepalive) ka = setInterval(() => write(`: keepalive${eol}${eol}`), keepalive)
  })

  /** How the SSE server writes to a response (or the gzip stream in front of it): at once, or `trickle` bytes a turn (what is still queued at a cut is lost with it). */
  function writer(out) {
    const flush = () => out.flush?.()
    if (!trickle) return (text) => (out.write(text), flush())
    let queue = Promise.resolve()
    return (text) => {
      const bytes = Buffer.from(text)
      for (let i = 0; i < bytes.length; i += trickle) {
        const piece = bytes.subarray(i, i + trickle)
        queue = queue.then(() => new Promise((resolve) => setImmediate(() => (out.writableEnded || out.destroyed || (out.write(piece), flush()), resolve()))))
      }
    }
  }

  function onePerResponseAnswer(req, res, id) {
    if (ids === 'absent') {
      // Nothing to resume from: every request gets the next event, made for it (once all were
      // made, the response stays open and silent).
      if (served < total) res.end(sseFrame(eventAt(++served)))
      return
    }
    const answer = () => {
      const next = after(id)[0]
      if (!next) return false
      res.end(sseFrame(next))
      return true
    }
    if (answer()) return
    const waiter = (cut) => {
      if (cut) return waiters.delete(waiter), res.destroy()
      if (answer()) waiters.delete(waiter)
    }
    waiters.add(waiter)
    res.on('close', () => waiters.delete(waiter))
  }

  function longPoll(req, res, url) {
    const id = url.searchParams.get('lastEventId') ?? undefined
    if (id !== undefined) stats.withQuery++
    const headers = { 'content-type': 'application/json', 'cache-control': 'no-store', ...corsHeaders(req, cors) }
    // Without ids that are places, a request waits for what is published after it came.
    const since = ids === 'absent' || ids === 'constant' ? log.length : -1
    const answer = () => {
      const events = since < 0 ? after(id) : log.slice(since)
      if (!events.length) return false
      res.writeHead(200, headers).end(JSON.stringify(events.map(jsonOf)))
      return true
    }
    if (answer()) return
    const hold = setTimeout(() => (waiters.delete(waiter), res.writeHead(200, headers).end('[]')), 20000)
    const waiter = (cut) => {
      if (cut) return clearTimeout(hold), waiters.delete(waiter), res.destroy()
      if (answer()) clearTimeout(hold), waiters.delete(waiter)
    }
    waiters.add(waiter)
    res.on('close', () => (clearTimeout(hold), waiters.delete(waiter)))
  }

  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    stats.upgrades++
    start()
    if (kind !== 'ws') return void socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    if (refuse(socket)) return
    stats.requests++
    const id = new URL(req.url, 'http://x').searchParams.get('lastEventId') ?? undefined
    if (id !== undefined) stats.withQuery++
    wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (e) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(jsonOf(e)))
      const stream = {
        send,
        end: () => (streams.delete(stream), ws.close(1000)),
        reset: () => (streams.delete(stream), ws.terminate()),
      }
      streams.add(stream)
      ws.on('close', () => streams.delete(stream))
      ws.on('error', () => streams.delete(stream))
      // The scenario's retry, as the SSE server sends it at the start of each response (a JSON
      // envelope with `retry` only).
      if (retry !== undefined) ws.send(JSON.stringify({ retry }))
      if (hello) ws.send(JSON.stringify({ event: 'hello', data: 'connected' }))
      for (const e of after(id)) send(e)
    })
  })

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    port,
    stats,
    get published() {
      return published
    },
    async close() {
      clearInterval(timer)
      for (const s of [...streams]) s.reset()
      for (const w of [...waiters]) w(true)
      wss.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
