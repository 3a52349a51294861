// Express: the same /events route (all three HTTP transports, resume, held long polls), and a
// POST that publishes to every open stream and waiting long poll at once.
// Run: node docs/recipes/express.mjs, then curl -d '{"text":"hi"}' -H 'content-type: application/json' localhost:8080/notices
import express from 'express'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { createLog } from './events-log.mjs'
import { events } from './node-http.mjs'

export function start(port = 8080, log = createLog()) {
  const app = express()
  app.get('/events', events(log))
  app.post('/notices', express.json(), (req, res) => {
    const { id } = log.publish(JSON.stringify({ text: String(req.body?.text ?? '') }), 'notice')
    res.status(201).json({ id })
  })
  const server = app.listen(port)
  return { app, server, log, listening: once(server, 'listening').then(() => server.address().port) }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { listening } = start(Number(process.env.PORT ?? 8080))
  console.log(`events at http://localhost:${await listening}/events`)
}
