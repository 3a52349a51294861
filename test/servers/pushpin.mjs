// Pushpin (Debian's package) in front of a GRIP backend written as Pushpin's documentation shows it:
// an event stream held open (`Grip-Hold: stream`), long polls held until a message
// (`Grip-Hold: response`), short polls answered by the backend, and WebSocket-over-HTTP with a
// `subscribe` control message; messages published through Pushpin's HTTP publish endpoint. Without
// GRIP's prev-id recovery, a message published while Pushpin registers a new hold (between the
// backend's answer and the subscription) reaches nobody, and one published while the backend
// answers may come twice (in the answer, and live). So the fixture does what such an app must:
// the backend answers a hold only when no publish is under way, and a publish waits until the last
// hold is 100 ms old.
//
// Pushpin runs with its own rundir, its ports free ones, and its own zurl (the Debian package's
// internal.conf points the proxy at a system zurl whose configuration denies 127.*).
//
//   const pushpin = await startPushpin()   // { origin, path, publish(k), cut(), close() }
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, proxy, run, stop, waitForPort } from '../nchan/nchan.mjs'
import { listen, page } from './node.mjs'

const PUSHPIN = process.env.PUSHPIN_PATH ?? '/usr/bin/pushpin'
const ZURL = process.env.ZURL_PATH ?? '/usr/bin/zurl'
const CHANNEL = 'test'

const frame = (e) => `id: ${e.id}\ndata: ${e.data}\n\n`
/** One event of the WebSocket-over-HTTP body. */
const wsEvent = (type, content) => (content === undefined ? `${type}\r\n` : `${type} ${Buffer.byteLength(content).toString(16)}\r\n${content}\r\n`)

/** The app behind Pushpin: resume by Last-Event-ID or ?lastEventId=; `opened()` after every hold, answered once `idle()`. */
function backend(log, opened, idle) {
  return createServer(async (req, res) => {
    if (page(req, res)) return
    const url = new URL(req.url, 'http://x')
    // Held for a second on a channel of its own: Pushpin's handler answers, so Pushpin is ready.
    if (url.pathname === '/ready') return void res.writeHead(200, { 'grip-hold': 'response', 'grip-channel': 'ready', 'grip-timeout': '1' }).end('ready')
    if (url.pathname !== '/events') return void res.writeHead(404).end()
    const from = Number(req.headers['last-event-id'] ?? url.searchParams.get('lastEventId') ?? 0) || 0
    const after = () => log.filter((e) => e.id > from)
    if (req.headers['content-type'] === 'application/websocket-events') {
      const chunks = []
      req.on('data', (c) => chunks.push(c))
      req.on('end', async () => {
        await idle()
        const events = Buffer.concat(chunks).toString()
        const head = { 'content-type': 'application/websocket-events', 'sec-websocket-extensions': 'grip; message-prefix=""' }
        if (!events.startsWith('OPEN')) return void res.writeHead(200, head).end(events.startsWith('CLOSE') ? wsEvent('CLOSE', '\x03\xe8') : '')
        res.writeHead(200, head)
        res.end(wsEvent('OPEN') + wsEvent('TEXT', `c:${JSON.stringify({ type: 'subscribe', channel: CHANNEL })}`) + after().map((e) => wsEvent('TEXT', frame(e))).join(''))
        opened()
      })
      return
    }
    await idle()
    const sse = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
    const transport = url.searchParams.get('transport')
    if (transport === 'poll') return void res.writeHead(200, sse).end(after().map(frame).join(''))
    if (transport === 'longpoll') {
      if (after().length) return void res.writeHead(200, sse).end(after().map(frame).join(''))
      // Held until a message; an empty 200 after 20 s: poll again.
      res.writeHead(200, { ...sse, 'grip-hold': 'response', 'grip-channel': CHANNEL, 'grip-timeout': '20' }).end()
      return void opened()
    }
    res.writeHead(200, { ...sse, 'grip-hold': 'stream', 'grip-channel': CHANNEL }).end(after().map(frame).join(''))
    opened()
  })
}

export async function startPushpin() {
  for (const [path, what] of [
    [PUSHPIN, 'pushpin'],
    [ZURL, 'zurl'],
  ])
    if (!existsSync(path)) throw new Error(`no ${what} at ${path}: install it (apt-get install -y pushpin; .ci/run does)`)
  const dir = await mkdtemp(join(tmpdir(), 'subwire-pushpin-'))
  for (const sub of ['run', 'log']) await mkdir(join(dir, sub))
  const log = []
  let openedAt = 0
  let publishing = Promise.resolve()
  const app = await listen(
    backend(
      log,
      () => (openedAt = Date.now()),
      () => publishing,
    ),
  )
  const [http, publishPort, pushIn, pushSub, command] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()]
  const ipc = (name) => `ipc://${dir}/run/${name}`
  await writeFile(join(dir, 'routes'), `* ${app.origin.replace('http://', '')},over_http\n`)
  await writeFile(
    join(dir, 'zurl.conf'),
    `[General]\nin_spec=${ipc('zurl-in')}\nin_stream_spec=${ipc('zurl-in-stream')}\nout_spec=${ipc('zurl-out')}\ndefpolicy=allow\nallow=\ndeny=\nmax_open_requests=2000\nbuffer_size=200000\ntimeout=600\n`,
  )
  await writeFile(
    join(dir, 'pushpin.conf'),
    `[global]
include={libdir}/internal.conf
rundir=${dir}/run
ipc_prefix=pushpin-
port_offset=0
[runner]
services=condure,pushpin-proxy,pushpin-handler
http_port=${http}
logdir=${dir}/log
log_level=2
client_buffer_size=8192
client_maxconn=1000
condure_bin=condure
[proxy]
routesfile=routes
debug=false
auto_cross_origin=false
sig_iss=pushpin
sig_key=changeme
updates_check=off
zurl_out_specs=${ipc('zurl-in')}
zurl_out_stream_specs=${ipc('zurl-in-stream')}
zurl_in_specs=${ipc('zurl-out')}
[handler]
push_in_spec=tcp://127.0.0.1:${pushIn}
push_in_sub_specs=tcp://127.0.0.1:${pushSub}
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port=${publishPort}
stats_spec=${ipc('pushpin-stats')}
command_spec=tcp://127.0.0.1:${command}
message_rate=2500
message_hwm=25000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
`,
  )
  const zurl = run(ZURL, [`--config=${join(dir, 'zurl.conf')}`], 'zurl')
  const pushpin = run(PUSHPIN, [`--config=${join(dir, 'pushpin.conf')}`], 'pushpin')
  await waitForPort(http)
  await waitForPort(publishPort)
  for (let tries = 0; (await fetch(`http://127.0.0.1:${http}/ready`).catch(() => ({})).then((r) => r.status)) !== 200; tries++) {
    if (tries === 50) throw new Error(`pushpin did not answer within 10 s: see ${dir}/log`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const front = await proxy(http)
  return {
    origin: `http://127.0.0.1:${front.port}`,
    path: '/events',
    cut: () => front.cut(),
    async publish(k) {
      for (let wait; (wait = openedAt + 100 - Date.now()) > 0; ) await new Promise((r) => setTimeout(r, wait))
      const e = { id: k, data: `m${k}` }
      const formats = {
        'http-stream': { content: frame(e) },
        'http-response': { headers: { 'Content-Type': 'text/event-stream' }, body: frame(e) },
        'ws-message': { content: frame(e) },
      }
      let done
      publishing = new Promise((resolve) => (done = resolve))
      try {
        log.push(e)
        const res = await fetch(`http://127.0.0.1:${publishPort}/publish/`, { method: 'POST', body: JSON.stringify({ items: [{ channel: CHANNEL, formats }] }) })
        if (!res.ok) throw new Error(`pushpin publish: ${res.status} ${await res.text()}`)
      } finally {
        done()
      }
    },
    async close() {
      await front.closeAll().catch(() => {})
      await stop(pushpin)
      await stop(zurl)
      await app.close()
      if (!process.env.KEEP_PUSHPIN) await rm(dir, { recursive: true, force: true })
    },
  }
}
