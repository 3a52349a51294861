// Hostile servers, one per way a server or a network can hurt a push client, served by the
// reference server under /h/<name> (HTTP and WebSocket). Each request is counted per name.
//
//   const server = await startServer({ handlers: hostile.handlers })
//   hostile.count('lp-204') // requests so far

const MiB = 1024 * 1024
const sse = (res, body, end = true) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
  return end ? res.end(body) : res.write(body)
}
/** Which transport asked: a poll says so in the query, a stream by its Accept header, a WebSocket by its upgrade. */
const transportOf = (req) =>
  new URL(req.url, 'http://x').searchParams.get('transport') ?? (req.headers.upgrade ? 'websocket' : /event-stream/.test(req.headers.accept ?? '') ? 'eventsource' : undefined)
/** One event (id 1) for a poll from the start; a poll from id 1 is held a second, then 204. */
function honestLongPoll(req, res) {
  if (!new URL(req.url, 'http://x').searchParams.get('lastEventId')) return sse(res, 'id: 1\ndata: from long polling\n\n')
  const timer = setTimeout(() => res.writeHead(204).end(), 1000)
  res.on('close', () => clearTimeout(timer))
}

/** HTTP behaviours by name: (req, res, n) where n counts this name's requests from 1. */
const http = {
  // Storms: hints a server must never turn into a tight loop.
  'retry-after-huge': (req, res) => res.writeHead(503, { 'retry-after': '3000000' }).end('busy'),
  'retry-after-zero': (req, res) => res.writeHead(503, { 'retry-after': '0' }).end('busy'),
  'retry-after-past': (req, res) => res.writeHead(503, { 'retry-after': 'Sun, 01 Jan 2023 00:00:00 GMT' }).end('busy'),
  'retry-field-huge': (req, res, n) => sse(res, `retry: 1000000000000\nid: ${n}\ndata: x\n\n`),
  'retry-field-digits': (req, res, n) => sse(res, `retry: ${'9'.repeat(400)}\nid: ${n}\ndata: x\n\n`),
  'retry-field-zero': (req, res, n) => sse(res, `retry: 0\nid: ${n}\ndata: x\n\n`),
  // Polls that answer anything, at once.
  'lp-json-error': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"error":"session expired"}'),
  'lp-empty-array': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'),
  'lp-text-502': (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('502 Bad Gateway'),
  'lp-empty-200': (req, res) => res.writeHead(200, { 'content-length': '0' }).end(),
  'lp-204': (req, res) => res.writeHead(204).end(),
  'poll-json-error': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"error":"session expired"}'),
  'poll-204': (req, res) => res.writeHead(204).end(),
  // Unproven: accepted, then nothing. The long polls behind them are honest.
  'sse-empty': (req, res) => (transportOf(req) === 'eventsource' ? sse(res, '') : honestLongPoll(req, res)),
  'ws-clean-close': honestLongPoll,
  // Stalls: headers, then a body that never ends.
  'lp-stall-body': (req, res) => sse(res, 'id: 1\ndata: partial', false),
  // A JSON poll body that never ends (an array streamed forever): cut at maxEventSize, not read on.
  'poll-endless-json': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('[')
    const chunk = `${JSON.stringify({ data: 'x'.repeat(1000) })},`.repeat(10)
    let sent = 0
    const timer = setInterval(() => ((sent += chunk.length), res.write(chunk)), 5)
    res.on('close', () => {
      clearInterval(timer)
      hostile.cut.push({ name: 'poll-endless-json', sent })
    })
  },
  // Honest servers that must not be taken for a buffering proxy.
  'sse-two-line-heartbeat': (req, res) => {
    sse(res, ': hi\n\n', false)
    let n = 0
    const timer = setInterval(() => {
      res.write(`: ping\n: ${Date.now()}\n\n`)
      if (++n % 3 === 0) res.write(`id: ${n}\ndata: tick ${n}\n\n`)
    }, 300)
    res.on('close', () => clearInterval(timer))
  },
  'sse-comment-per-event': (req, res) => {
    sse(res, ': hi\n\n', false)
    let n = 0
    const timer = setInterval(() => {
      let chunk = ''
      for (let k = 0; k < 10; k++) chunk += `: t=${Date.now()}\nid: ${++n}\ndata: ${n}\n\n`
      res.write(chunk)
    }, 10)
    res.on('close', () => clearInterval(timer))
  },
  // Bad values.
  'id-huge': (req, res, n) => sse(res, n === 1 ? `id: ${'x'.repeat(2 * MiB)}\ndata: a\n\nid: small\ndata: b\n\n` : 'data: again\n\n'),
  'proto-types': (req, res) =>
    sse(res, ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'message'].map((type, i) => `id: ${i + 1}\nevent: ${type}\ndata: ${type}\n\n`).join(''), false),
}

/** WebSocket behaviours by name: (socket, req, n). */
const ws = {
  'json-retry-infinity': (socket, req, n) => {
    socket.send(`{"retry":1e400,"id":${n},"data":"x"}`)
    socket.close(1000)
  },
  'ws-1013-huge': (socket) => {
    socket.send('data: x\n\n')
    socket.close(1013, '3000000')
  },
  'ws-1012': (socket) => {
    socket.send('data: x\n\n')
    socket.close(1012)
  },
  'ws-clean-close': (socket) => socket.close(1000),
  'json-ids': (socket, req, n) => {
    if (n > 1) return socket.send('{"id":"next","data":"after reconnect"}')
    socket.send('{"id":"a\\u0000b","data":"1"}')
    socket.send('{"id":"x\\r\\ny","data":"2"}')
    socket.send('{"id":{"a":1},"data":"3"}')
    socket.send('{"id":"ok","data":"4"}')
    setTimeout(() => socket.close(1011), 50)
  },
  'ws-huge-event-line': (socket) => {
    socket.send(`event: ${'x'.repeat(20 * MiB)}\ndata: y\n\n`)
    socket.send('id: 1\ndata: fine\n\n')
  },
  'proto-types': (socket) => {
    for (const [i, type] of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'message'].entries()) socket.send(`id: ${i + 1}\nevent: ${type}\ndata: ${type}\n\n`)
  },
}

const counts = new Map()
const bump = (name) => {
  const n = (counts.get(name) ?? 0) + 1
  counts.set(name, n)
  return n
}

export const hostile = {
  /** Requests and upgrades `name` received so far. */
  count: (name) => counts.get(name) ?? 0,
  /** Endless bodies the client stopped reading: how many bytes each had been sent by then. */
  cut: [],
  /** Every request URL received, by name, and the transport that sent it. */
  urls: new Map(),
  transports: new Map(),
  handlers: {
    http(req, res, url) {
      const match = /^\/h\/([\w-]+)$/.exec(url.pathname)
      if (!match) return false
      const name = match[1]
      const n = bump(name)
      hostile.urls.set(name, [...(hostile.urls.get(name) ?? []), req.url])
      hostile.transports.set(name, [...(hostile.transports.get(name) ?? []), transportOf(req)])
      const handler = http[name]
      if (!handler) res.writeHead(404).end()
      else handler(req, res, n)
      return true
    },
    upgrade(req, socket, head, url, wss) {
      const match = /^\/h\/([\w-]+)$/.exec(url.pathname)
      if (!match) return false
      const name = match[1]
      const n = bump(name)
      hostile.urls.set(name, [...(hostile.urls.get(name) ?? []), req.url])
      hostile.transports.set(name, [...(hostile.transports.get(name) ?? []), transportOf(req)])
      const handler = ws[name]
      if (!handler) {
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
        return true
      }
      wss.handleUpgrade(req, socket, head, (s) => handler(s, req, n))
      return true
    },
  },
}
