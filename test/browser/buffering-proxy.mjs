// A small HTTP proxy that behaves like the buffering proxies users meet: it passes requests and
// response headers on at once, but holds the body of every event stream and lets it through in
// bursts every `flushMs`. It has no WebSocket support: an upgrade request is dropped.
import { createServer, request } from 'node:http'

export async function startBufferingProxy(target, { flushMs = 1500 } = {}) {
  const server = createServer((req, res) => {
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      if (!/text\/event-stream/.test(answer.headers['content-type'] ?? '')) return void answer.pipe(res)
      let held = []
      const flush = () => {
        if (held.length) res.write(Buffer.concat(held))
        held = []
      }
      const timer = setInterval(flush, flushMs)
      answer.on('data', (chunk) => held.push(chunk))
      answer.on('end', () => {
        clearInterval(timer)
        flush()
        res.end()
      })
      res.on('close', () => {
        clearInterval(timer)
        answer.destroy()
      })
    })
    upstream.on('error', () => res.destroy())
    res.on('close', () => upstream.destroy())
    req.pipe(upstream)
  })
  // No 'upgrade' listener: Node closes the socket of an upgrade request, as such a proxy does.
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
