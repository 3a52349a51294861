// subwire's HTTP transports with nothing but node:http: eventsource (a plain SSE stream, which
// native EventSource reads too), longpoll (held until an event comes) and poll, with resume by
// Last-Event-ID or ?lastEventId= and a `reset` when that id is gone.
// Run: node docs/recipes/node-http.mjs, then subscribe('http://localhost:8080/events').
import { once } from 'node:events'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { createLog, frame } from './events-log.mjs'

/** The /events handler for a log: a Node `http` request listener, and an Express route as it is. */
export function events(log, { hold = 25_000, heartbeat = 15_000 } = {}) {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const lastId = req.headers['last-event-id'] ?? url.searchParams.get('lastEventId')
    const head = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }
    const transport = url.searchParams.get('transport')

    if (transport === 'longpoll' || transport === 'poll') {
      // A poll answers at once; a long poll waits (below the client's 60 s longPollTimeout).
      const gone = new AbortController()
      res.on('close', () => gone.abort())
      const { news, text } = transport === 'poll' ? log.since(lastId) : await log.wait(lastId, hold, gone.signal)
      if (gone.signal.aborted) return
      return void (news ? res.writeHead(200, head).end(text) : res.writeHead(204).end()) // 204: "nothing new, ask again"
    }

    // Anything else is a stream. `x-accel-buffering` stops nginx from holding events back.
    res.writeHead(200, { ...head, 'x-accel-buffering': 'no' })
    res.write(': hi\n\n' + log.since(lastId).text) // open at once, then what was missed
    const off = log.listen((event) => {
      res.write(frame(event))
      if (res.writableLength > 1 << 20) res.destroy() // too slow to keep up: it reconnects and resumes
    })
    const beat = setInterval(() => res.write(': heartbeat\n\n'), heartbeat)
    res.on('close', () => {
      off()
      clearInterval(beat)
    })
  }
}

export function start(port = 8080, log = createLog()) {
  const handle = events(log)
  const server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname === '/events') return void handle(req, res)
    res.writeHead(404).end()
  })
  return { server, log, listening: once(server.listen(port), 'listening').then(() => server.address().port) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { log, listening } = start(Number(process.env.PORT ?? 8080))
  setInterval(() => log.publish(new Date().toISOString()), 1000)
  console.log(`events at http://localhost:${await listening}/events`)
}
