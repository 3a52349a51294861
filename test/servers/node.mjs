// Servers people write with the Node frameworks they use, each as its documentation shows SSE (or
// WebSocket) with resume by the standard Last-Event-ID header and a small in-memory replay log —
// nothing tuned for subwire. Each also serves the test page and the build (same origin), and the
// test drives it: publish(k) sends message "m<k>" with id k, cut() drops every connection as a
// network failure would.
//
//   const server = await hono()   // { origin, path, publish(k), cut(), close() }
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { getRequestListener } from '@hono/node-server'
import cors from 'cors'
import { createChannel, createSession } from 'better-sse'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import SseChannel from 'sse-channel'
import { WebSocketServer } from 'ws'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PAGE = /^\/(dist\/[\w.-]+\.js|dist\/[\w.-]+\.mjs|test\/browser\/pages\/[\w.-]+\.(html|js|mjs))$/

/** The test page and the build, or `false` when the request is the app's. */
export function page(req, res) {
  const match = PAGE.exec(req.url.split('?')[0])
  if (!match) return false
  res.writeHead(200, { 'content-type': match[1].endsWith('html') ? 'text/html' : 'text/javascript', 'cache-control': 'no-store' })
  res.end(readFileSync(ROOT + match[1]))
  return true
}

/** Listen on a free port; cut() destroys every open socket. */
export async function listen(server) {
  const sockets = new Set()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${server.address().port}`
  return {
    origin,
    cut: () => sockets.forEach((s) => s.destroy()),
    close: async () => {
      sockets.forEach((s) => s.destroy())
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const lastId = (req) => Number(req.headers['last-event-id'] ?? 0) || 0

/** What an app keeps for resume: the messages so far, and the open streams to send new ones to. */
function feed() {
  const log = []
  const live = new Set()
  return {
    log,
    live,
    publish(k) {
      const e = { id: k, data: `m${k}` }
      log.push(e)
      for (const send of live) send(e)
    },
  }
}

/** hono: streamSSE, replay after Last-Event-ID, then live. */
export async function hono() {
  const { log, live, publish } = feed()
  const app = new Hono()
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      const from = Number(c.req.header('last-event-id') ?? 0) || 0
      for (const e of log) if (e.id > from) await stream.writeSSE({ id: String(e.id), data: e.data })
      await new Promise((resolve) => {
        const send = (e) => stream.writeSSE({ id: String(e.id), data: e.data })
        live.add(send)
        stream.onAbort(() => (live.delete(send), resolve()))
      })
    }),
  )
  const listener = getRequestListener(app.fetch)
  const net = await listen(createServer((req, res) => page(req, res) || listener(req, res)))
  return { ...net, path: '/events', publish }
}

/** better-sse: a channel of sessions; a new session gets what it missed after its Last-Event-ID. */
export async function betterSse() {
  const log = []
  const channel = createChannel()
  const net = await listen(
    createServer(async (req, res) => {
      if (page(req, res)) return
      if (!req.url.startsWith('/events')) return void res.writeHead(404).end()
      const session = await createSession(req, res, { serializer: String })
      for (const e of log) if (e.id > lastId(req)) session.push(e.data, 'message', String(e.id))
      channel.register(session)
    }),
  )
  return {
    ...net,
    path: '/events',
    publish(k) {
      log.push({ id: k, data: `m${k}` })
      channel.broadcast(`m${k}`, 'message', { eventId: String(k) })
    },
  }
}

/** fastify: the raw response, hijacked, written as an event stream. */
export async function fastify() {
  const { log, live, publish } = feed()
  const app = Fastify({ serverFactory: (handler) => createServer((req, res) => page(req, res) || handler(req, res)) })
  const frame = (e) => `id: ${e.id}\ndata: ${e.data}\n\n`
  app.get('/events', (request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    for (const e of log) if (e.id > lastId(request.raw)) res.write(frame(e))
    const send = (e) => res.write(frame(e))
    live.add(send)
    request.raw.on('close', () => live.delete(send))
  })
  await app.ready()
  const net = await listen(app.server)
  return {
    ...net,
    path: '/events',
    publish,
    close: async () => {
      await net.close().catch(() => {})
      await app.close().catch(() => {})
    },
  }
}

/** Express with sse-channel (history and Last-Event-ID handled by the library); `crossOrigin`: the `cors` middleware's defaults, for a page on another origin. */
export async function expressSseChannel({ crossOrigin = false } = {}) {
  const channel = new SseChannel({ historySize: 1000, pingInterval: 15000 })
  const app = express()
  if (crossOrigin) app.use(cors())
  app.get('/events', (req, res) => channel.addClient(req, res))
  const net = await listen(createServer((req, res) => page(req, res) || app(req, res)))
  return {
    ...net,
    path: '/events',
    // A number, as sse-channel's README shows: it compares ids with <=, so string ids lose replays past '9' → '10'.
    publish: (k) => channel.send({ id: k, data: `m${k}` }),
    close: async () => {
      channel.close()
      await net.close()
    },
  }
}

/** A plain `ws` server with its own JSON format ({ seq, body }) and resume by ?since=: read with `parse`. */
export async function wsOwnFormat() {
  const log = []
  const wss = new WebSocketServer({ noServer: true })
  const server = createServer((req, res) => page(req, res) || res.writeHead(404).end())
  server.on('upgrade', (req, socket, head) => {
    const since = Number(new URL(req.url, 'http://x').searchParams.get('since') ?? 0) || 0
    wss.handleUpgrade(req, socket, head, (ws) => {
      for (const e of log) if (e.seq > since) ws.send(JSON.stringify(e))
    })
  })
  const net = await listen(server)
  return {
    ...net,
    path: '/ws',
    options: { transports: ['websocket'], lastEventIdParam: 'since', parse: 'seq' },
    publish(k) {
      const e = { seq: k, body: `m${k}` }
      log.push(e)
      for (const ws of wss.clients) ws.send(JSON.stringify(e))
    },
  }
}
