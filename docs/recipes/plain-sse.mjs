// The smallest standard SSE endpoint, as any tutorial writes it: it knows nothing of subwire (it
// routes on the exact URL) and works unchanged on the `eventsource` transport, resume included,
// since it replays what came after the Last-Event-ID header. Subscribe with transports: ['eventsource'].
// Run: node docs/recipes/plain-sse.mjs
import { once } from 'node:events'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'

export function start(port = 8080) {
  const sent = [] // every event, so a client coming back gets what it missed
  const clients = new Set()
  const publish = (data) => {
    sent.push(data)
    for (const res of clients) res.write(`id: ${sent.length}\ndata: ${data}\n\n`)
  }
  const server = createServer((req, res) => {
    if (req.url !== '/events') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.write('retry: 1000\n\n')
    const last = Number(req.headers['last-event-id']) || 0
    sent.forEach((data, i) => i >= last && res.write(`id: ${i + 1}\ndata: ${data}\n\n`))
    clients.add(res)
    res.on('close', () => clients.delete(res))
  })
  return { server, publish, listening: once(server.listen(port), 'listening').then(() => server.address().port) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { publish, listening } = start(Number(process.env.PORT ?? 8080))
  setInterval(() => publish(new Date().toISOString()), 1000)
  console.log(`events at http://localhost:${await listening}/events`)
}
