// The chaos soak: the reference server misbehaving at random for a while (status codes with
// hints, stalled answers, clean and dirty closes, restarts, bursts, huge ids, refused and starved
// transports, a buffering proxy switched on and off) while 3000 events are published. One
// Chromium page subscribes with default negotiation. At the end: every event exactly once, in
// order; the request rate never above a ceiling; the heap flat.
//
//   const result = await soak({ durationMs: 60_000, seed: 42 })
import { launchChromium } from '../../scripts/chromium.mjs'
import { startServer } from '../../demo/server.mjs'

/** Requests (and upgrades) in any one second the client may make, at most. */
export const CEILING = 30
/** The longest the client may sit, with events waiting, without delivering one or making a request (ms). */
export const MAX_STUCK = 10_000

function rng(seed) {
  let s = seed % 2147483647 || 1
  return () => (s = (s * 16807) % 2147483647) / 2147483647
}

export async function soak({ durationMs = 60_000, events: total = 3000, seed = Date.now() % 1e9, log = () => {} } = {}) {
  const random = rng(seed)
  const chance = (p) => random() < p
  const pick = (list) => list[Math.floor(random() * list.length)]
  let chaos = true
  const perSecond = new Map()
  const count = () => {
    const second = Math.floor(Date.now() / 1000)
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1)
  }
  const stalled = new Set()
  const server = await startServer({
    heartbeatMs: 1000,
    holdMs: 1500,
    handlers: {
      // Every request to /events is counted; some get a hostile answer instead of the real one.
      http(req, res, url) {
        if (url.pathname !== '/events') return false
        count()
        if (!chaos) return false
        if (chance(0.05)) {
          const status = pick([500, 502, 503, 429, 408])
          res.writeHead(status, { 'retry-after': String(Math.floor(random() * 3)) }).end('chaos')
          return true
        }
        if (chance(0.03)) {
          // Headers, then a body that never comes.
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          res.write(url.searchParams.get('transport') ? 'id: 999999\ndata: partial' : '')
          stalled.add(res)
          res.on('close', () => stalled.delete(res))
          return true
        }
        return false
      },
      upgrade(req, socket, head, url) {
        if (url.pathname === '/events') count()
        return false
      },
    },
  })
  const browser = await launchChromium()
  const page = await browser.newPage()
  const pageErrors = []
  let crashed = false
  page.on('pageerror', (e) => pageErrors.push(String(e)))
  page.on('crash', () => (crashed = true))
  await page.goto(`${server.origin}/test/browser/pages/blank.html`)
  await page.evaluate(() => {
    const got = (window.got = { ids: [], transports: {}, errors: {}, states: 0, log: [] })
    const t0 = performance.now()
    const sub = window.Subwire.subscribe('/events', {
      // Every decision, for the timeline of a run that fails.
      log: (r) => got.log.push(`${((performance.now() - t0) / 1000).toFixed(1)} client: ${r.type} ${r.transport ?? ''} ${r.delay ?? ''} ${r.error ? r.error.message.slice(0, 60) : ''}`),
      connectTimeout: 2000,
      heartbeatTimeout: 4000,
      longPollTimeout: 4000,
      pollInterval: 300,
      upgradeAfter: 5000,
      retry: { initialDelay: 200, maxDelay: 2000 },
    })
    sub.on('message', (e) => {
      got.lastEventAt = performance.now()
      got.ids.push(Number(e.id))
      got.transports[e.transport] = (got.transports[e.transport] ?? 0) + 1
    })
    sub.on('error', (e) => (got.errors[e.kind] = (got.errors[e.kind] ?? 0) + 1))
    sub.on('state', (s) => {
      got.states++
      got.log.push(`${(((performance.now() - t0) / 1000)).toFixed(1)} client ${s.state} ${s.transport} ${s.delay ?? ''} ${s.waitingFor ?? ''} ${s.error ? s.error.message.slice(0, 80) : ''}`)
    })
  })
  const cdp = await page.context().newCDPSession(page)
  const heap = async () => {
    await cdp.send('HeapProfiler.collectGarbage')
    return (await cdp.send('Runtime.getHeapUsage')).usedSize
  }
  const started = Date.now()
  const chaosUntil = started + durationMs * 0.85
  let heapStart
  let published = 0
  let lastReceived = 0
  let last = started
  const actions = {}
  const timeline = []
  const act = (name, fn) => {
    actions[name] = (actions[name] ?? 0) + 1
    timeline.push(`${((Date.now() - started) / 1000).toFixed(1)} ${name}`)
    fn()
  }
  const timers = []
  const later = (ms, fn) => timers.push(setTimeout(fn, ms))
  // The longest time during chaos with events waiting and neither an event delivered nor a request made.
  let stuckSince
  let longestStuck = 0
  let stuckAt = 0
  let requestsSeen = 0
  try {
    while (Date.now() < chaosUntil) {
      await new Promise((r) => setTimeout(r, 100))
      const now = Date.now()
      if (heapStart === undefined && now - started > durationMs * 0.1) heapStart = await heap()
      const received = await page.evaluate(() => window.got.ids.length)
      const requestsNow = server.connections.length
      if (received < published && requestsNow === requestsSeen && (stuckSince === undefined || received === lastReceived)) {
        stuckSince ??= now
        if (now - stuckSince > longestStuck) {
          longestStuck = now - stuckSince
          stuckAt = stuckSince - started
        }
      } else stuckSince = undefined
      lastReceived = received
      requestsSeen = requestsNow
      // Publish on schedule, sometimes in a burst.
      const due = Math.min(total, Math.floor(((now - started) / (chaosUntil - started)) * total))
      const burst = chance(0.02) ? 50 : 0
      while (published < Math.min(total, due + burst)) server.publish({ data: `e${++published}` })
      if (now - last < 500) continue
      last = now
      // One act of chaos, now and then.
      const r = random()
      if (r < 0.1) act('dirty close', () => server.dropAll())
      else if (r < 0.2) act('clean close', () => server.endAll())
      else if (r < 0.25) act('restart', () => server.restart(300 + Math.floor(random() * 1200)))
      else if (r < 0.3) act('503s', () => Object.assign(server.faults, { unavailable: 1 + Math.floor(random() * 3), retryAfter: String(Math.floor(random() * 3)) }))
      else if (r < 0.35) act('huge id', () => server.inject(`id: ${'x'.repeat(10000)}\n\n`))
      else if (r < 0.4) {
        act('buffering proxy', () => (server.faults.bufferSse = 400))
        later(3000, () => (server.faults.bufferSse = 0))
      } else if (r < 0.45) {
        const refused = pick([['websocket'], ['websocket', 'eventsource'], ['eventsource'], ['longpoll']])
        act('refuse', () => {
          server.faults.refuse = new Set(refused)
          server.dropAll()
        })
        later(4000, () => (server.faults.refuse = new Set()))
      } else if (r < 0.5) {
        const fault = pick(['starveWebSocket', 'killWebSocket'])
        act(fault, () => (server.faults[fault] = true))
        later(3000, () => (server.faults[fault] = false))
      } else if (r < 0.55) {
        act('slow answers', () => (server.faults.delayMs = 800))
        later(2000, () => (server.faults.delayMs = 0))
      }
    }
    // Calm: the rest is published, and everything must arrive.
    chaos = false
    for (const t of timers) clearTimeout(t)
    Object.assign(server.faults, { refuse: new Set(), unavailable: 0, delayMs: 0, starveWebSocket: false, killWebSocket: false, bufferSse: 0 })
    for (const res of stalled) res.destroy()
    while (published < total) server.publish({ data: `e${++published}` })
    const deadline = Date.now() + Math.max(30_000, durationMs * 0.15)
    while (Date.now() < deadline) {
      const n = await page.evaluate(() => window.got.ids.length)
      if (n >= total) break
      await new Promise((r) => setTimeout(r, 250))
    }
    const got = await page.evaluate(() => window.got)
    const heapEnd = await heap()
    const maxPerSecond = Math.max(...perSecond.values())
    const requests = [...perSecond.values()].reduce((a, b) => a + b, 0)
    const inOrder = got.ids.length === total && got.ids.every((id, i) => id === i + 1)
    const result = {
      seed,
      durationMs: Date.now() - started,
      total,
      received: got.ids.length,
      inOrder,
      /** Where the order first breaks: [position, id there], when it does. */
      firstOutOfOrder: inOrder ? undefined : [got.ids.findIndex((id, i) => id !== i + 1), got.ids[got.ids.findIndex((id, i) => id !== i + 1)]],
      duplicates: got.ids.length - new Set(got.ids).size,
      missing: total - new Set(got.ids).size,
      requests,
      maxPerSecond,
      ceiling: CEILING,
      transports: got.transports,
      errors: got.errors,
      states: got.states,
      actions,
      heapStart,
      heapEnd,
      heapGrowth: heapEnd - heapStart,
      connections: server.connections.length,
      longestStuck,
      stuckAt,
      timeline: [...timeline, ...got.log, ...server.connections.map((c) => `${((c.at - started) / 1000).toFixed(1)} request ${c.transport} from ${c.lastEventId}`)].sort((a, b) => parseFloat(a) - parseFloat(b)),
      byTransport: server.connections.reduce((m, c) => ((m[c.transport] = (m[c.transport] ?? 0) + 1), m), {}),
      crashed,
      pageErrors,
    }
    log(result)
    return result
  } finally {
    for (const t of timers) clearTimeout(t)
    await browser.close()
    await server.close()
  }
}
