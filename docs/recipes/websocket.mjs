// WebSocket with the `ws` package: each event one frame in SSE field syntax (so ids travel and a
// reconnect resumes from ?lastEventId=), protocol pings to keep proxies from closing a quiet
// socket, and a slow client cut loose rather than buffered without end.
// Run: node docs/recipes/websocket.mjs, then subscribe('ws://localhost:8080/events').
import { once } from 'node:events'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'
import { createLog, frame } from './events-log.mjs'

/** Serve `log` to WebSocket clients of `server` at `path`. */
export function attach(server, log, { path = '/events', ping = 15_000 } = {}) {
  const wss = new WebSocketServer({ server, path })
  wss.on('connection', (socket, req) => {
    const lastId = new URL(req.url ?? '/', 'http://localhost').searchParams.get('lastEventId')
    socket.send(': hi\n\n' + log.since(lastId).text) // one frame may hold many events
    const off = log.listen((event) => {
      if (socket.bufferedAmount > 1 << 20) return socket.terminate() // it reconnects and resumes
      socket.send(frame(event))
    })
    let alive = true
    socket.on('pong', () => (alive = true))
    const beat = setInterval(() => {
      if (!alive) return socket.terminate() // missed a whole interval: the peer is gone
      alive = false
      socket.ping()
    }, ping)
    socket.on('close', () => {
      off()
      clearInterval(beat)
    })
  })
  return wss
}

export function start(port = 8080, log = createLog()) {
  const server = createServer((req, res) => res.writeHead(404).end())
  const wss = attach(server, log)
  return { server, wss, log, listening: once(server.listen(port), 'listening').then(() => server.address().port) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { log, listening } = start(Number(process.env.PORT ?? 8080))
  setInterval(() => log.publish(new Date().toISOString()), 1000)
  console.log(`events at ws://localhost:${await listening}/events`)
}
