// Servers people already run, in Chromium: the reference server configured to act like each
// (raw WebSocket frames without ids, PING-only keepalive, named ping events, 410 then recovery, a
// quiet start) and a plain `ws` server that sends JSON and text. Each case: every message exactly
// once over the whole run, and the transport in use at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, startServer, type TestServer } from './harness'

let browser: Browser
const servers: TestServer[] = []

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  for (const server of servers) await server.close()
})

interface Got {
  events: Array<{ type: string; data: unknown; id?: string | undefined; transport: string }>
  errors: string[]
  states: string[]
}

async function subscriber(server: TestServer, options: Record<string, unknown>, { remember, path = '/events' }: { remember?: string; path?: string } = {}): Promise<{ page: Page; got(): Promise<Got> }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(`${server.origin}/test/browser/pages/blank.html`)
  await page.evaluate(
    ({ options, remember, path }) => {
      const w = window as unknown as { got: Got; Subwire: typeof import('../../src/index') }
      if (remember) localStorage.setItem(`subwire:${location.origin}${path}`, `${remember} ${Date.now() + 3_600_000}`)
      const got: Got = (w.got = { events: [], errors: [], states: [] })
      const sub = w.Subwire.subscribe(path, { share: false, onMessage: (e) => got.events.push({ type: e.type, data: e.data, id: e.id, transport: e.transport }), ...options })
      sub.on('error', (e) => got.errors.push(`${e.code}: ${e.message}`))
      sub.on('state', (s) => got.states.push(`${s.state}:${s.transport}`))
    },
    { options, remember, path },
  )
  return { page, got: async () => (expect(errors).toEqual([]), page.evaluate(() => (window as unknown as { got: Got }).got)) }
}

async function waitFor(page: Page, count: number, ms = 60_000) {
  await page.waitForFunction((n) => (window as unknown as { got: Got }).got.events.length >= n, count, { timeout: ms, polling: 100 })
}

/** Publish `count` numbered messages at `perSecond`, cutting every connection `cuts` times on the way. */
async function run(server: TestServer, page: Page, { count = 300, perSecond = 30, cuts = 2 } = {}) {
  const every = Math.floor(count / (cuts + 1))
  for (let i = 1; i <= count; i++) {
    server.publish({ data: `m${i}` })
    await new Promise((r) => setTimeout(r, 1000 / perSecond))
    if (i % every === 0 && i < count) {
      await waitFor(page, i - 10)
      server.dropAll()
    }
  }
  await waitFor(page, count)
}

const exactlyOnce = (got: Got, count: number) => expect(got.events.map((e) => e.data)).toEqual(Array.from({ length: count }, (_, i) => `m${i + 1}`))

describe('servers people run, in Chromium', () => {
  it('raw WebSocket frames without ids: the probe never moves the subscription off eventsource, nothing lost', async () => {
    const server = await startServer({ wsFrames: 'raw', heartbeatMs: 1000 })
    servers.push(server)
    server.publish({ data: 'm0' })
    const { page, got } = await subscriber(server, { upgradeAfter: 2000, lastEventId: '1' }, { remember: 'eventsource' })
    await run(server, page, { count: 300, perSecond: 20, cuts: 2 })
    const seen = await got()
    const probes = server.connections.filter((c) => c.transport === 'websocket').length
    console.log(`[interop] raw frames: ${probes} WebSocket probes, states ${seen.states.join(' ')}`)
    expect(probes).toBeGreaterThanOrEqual(1)
    exactlyOnce(seen, 300)
    expect(seen.events.every((e) => e.transport === 'eventsource')).toBe(true)
  }, 90_000)

  it('a WebSocket kept alive by protocol PINGs only (invisible to the page) is not torn down when quiet', async () => {
    const server = await startServer({ wsKeepalive: 'ping', greeting: false, heartbeatMs: 500 })
    servers.push(server)
    const { page, got } = await subscriber(server, { transports: ['websocket'], heartbeatTimeout: 2000 })
    server.publish({ data: 'm1' })
    await waitFor(page, 1)
    // Quiet for four heartbeatTimeouts.
    await new Promise((r) => setTimeout(r, 8000))
    for (let i = 2; i <= 100; i++) server.publish({ data: `m${i}` })
    await waitFor(page, 100)
    const seen = await got()
    exactlyOnce(seen, 100)
    expect(server.connections.filter((c) => c.transport === 'websocket')).toHaveLength(1)
    expect(seen.errors).toEqual([])
    expect(seen.events.at(-1)!.transport).toBe('websocket')
  }, 60_000)

  it('named ping events (event: ping, as hono users send) are heartbeats with heartbeatEvents: never delivered', async () => {
    const server = await startServer({ pingEvent: 'ping', heartbeatMs: 200 })
    servers.push(server)
    const { page, got } = await subscriber(server, { heartbeatEvents: ['ping'], retry: { initialDelay: 100, maxDelay: 400 } })
    await new Promise((r) => setTimeout(r, 500))
    await run(server, page, { count: 200, perSecond: 40, cuts: 2 })
    const seen = await got()
    exactlyOnce(seen, 200)
    expect(seen.events.some((e) => e.type === 'ping')).toBe(false)
    expect(seen.events.at(-1)!.transport).toBe('websocket')
  }, 60_000)

  it("410 Gone, then recovery: with statuses: { 410: 'retry' } the subscription goes on", async () => {
    const server = await startServer({ holdMs: 1000 })
    servers.push(server)
    server.publish({ data: 'm1' })
    server.faults.gone = 3
    const { page, got } = await subscriber(server, { transports: ['longpoll'], statuses: { 410: 'retry' }, retry: { initialDelay: 100, maxDelay: 400 } })
    await waitFor(page, 1, 20_000)
    for (let i = 2; i <= 100; i++) server.publish({ data: `m${i}` })
    await waitFor(page, 100)
    const seen = await got()
    exactlyOnce(seen, 100)
    expect(seen.errors.filter((e) => /^http: .*410/.test(e))).toHaveLength(3)
    expect(seen.states.at(-1)).toBe('open:longpoll')
  }, 60_000)

  it('a quiet server at start (nothing at all for 15 s) keeps its WebSocket: never demoted, never closed', async () => {
    const server = await startServer({ greeting: false, heartbeatMs: 0 })
    servers.push(server)
    const { page, got } = await subscriber(server, {})
    await new Promise((r) => setTimeout(r, 15_000))
    for (let i = 1; i <= 100; i++) server.publish({ data: `m${i}` })
    await waitFor(page, 100)
    const seen = await got()
    console.log(`[interop] quiet start: states ${seen.states.join(' ')}`)
    exactlyOnce(seen, 100)
    expect(seen.states.filter((s) => s.startsWith('open'))).toEqual(['open:websocket'])
    expect(seen.events.every((e) => e.transport === 'websocket')).toBe(true)
  }, 60_000)

  it('a plain ws server sending JSON objects and text per frame: each frame is one event', async () => {
    const frames = ['{"price":1}', 'hello', '[1,2,3]', '{"id":"x","name":"not an envelope"}', '{"data":{"price":2},"id":"7"}', 'data: looks like a field\n\n', '"just a string"']
    const server = await startServer({
      handlers: {
        upgrade(req: unknown, socket: unknown, head: unknown, url: URL, wss: { handleUpgrade(...a: unknown[]): void }) {
          if (url.pathname !== '/plain') return false
          wss.handleUpgrade(req, socket, head, (ws: { send(text: string): void }) => {
            for (const frame of frames) ws.send(frame)
          })
          return true
        },
      },
    })
    servers.push(server)
    const text = await subscriber(server, { transports: ['websocket'] }, { path: '/plain' })
    const json = await subscriber(server, { transports: ['websocket'], decode: 'json' }, { path: '/plain' })
    await waitFor(text.page, frames.length - 0)
    await waitFor(json.page, 4)
    const seen = await text.got()
    expect(seen.events.map((e) => [e.data, e.id])).toEqual([
      ['{"price":1}', undefined],
      ['hello', undefined],
      ['[1,2,3]', undefined],
      ['{"id":"x","name":"not an envelope"}', undefined],
      ['{"price":2}', '7'],
      ['looks like a field', undefined],
      ['"just a string"', undefined],
    ])
    const decoded = await json.got()
    expect(decoded.events[0]!.data).toEqual({ price: 1 })
    expect(decoded.events.find((e) => e.id === '7')!.data).toEqual({ price: 2 })
    // 'hello' is not JSON: decode: 'json' skips it with a DecodeError.
    expect(decoded.errors.some((e) => e.startsWith('decode: '))).toBe(true)
  })
})
