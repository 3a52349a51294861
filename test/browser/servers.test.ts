// Servers nobody on the project wrote, in Chromium, as a new user meets them: the SSE helpers of
// the Node and Python frameworks people use (each as its documentation shows it, with resume by
// Last-Event-ID), plain WebSocket servers, nginx in front of a server (with its default buffering,
// and as the troubleshooting guide configures it), Pushpin on every transport, and nchan with Redis
// across two nodes. Each
// case publishes 300 numbered messages while every connection is cut three times (or a node
// stops), and counts: every message once, in order. Missing Python modules, nginx, Pushpin, nchan or Redis
// fail these tests loudly (.ci/run installs them); nothing is skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, startServer, type TestServer } from './harness'
// @ts-expect-error -- plain ESM modules without declarations
import { betterSse, expressSseChannel, fastify, hono, wsOwnFormat } from '../servers/node.mjs'
// @ts-expect-error -- plain ESM modules without declarations
import { startPython } from '../servers/python.mjs'
// @ts-expect-error -- plain ESM modules without declarations
import { startNginx } from '../servers/nginx.mjs'
// @ts-expect-error -- plain ESM modules without declarations
import { startPushpin } from '../servers/pushpin.mjs'
import { startNchan, type Nchan, type NchanNode } from '../nchan/nchan.mjs'

/** A server under test: where its events are, how to publish message k, how to cut every connection. */
interface Target {
  origin: string
  path: string
  options?: Record<string, unknown>
  publish(k: number): unknown
  cut(): unknown
  close(): Promise<void>
}

interface Got {
  events: Array<{ data: string; id?: string | undefined; transport: string }>
  errors: string[]
  states: string[]
  at: number[]
}

let browser: Browser
let pages: TestServer
const closing: Array<{ close(): Promise<void> }> = []
const started = <T extends { close(): Promise<void> }>(thing: T): T => (closing.push(thing), thing)

beforeAll(async () => {
  browser = await launchBrowser()
  pages = started(await startServer())
})
afterAll(async () => {
  await browser?.close()
  for (const thing of closing.reverse()) await thing.close().catch(() => {})
})

interface Subscribing {
  /** The origin of the page (default: the server's own). */
  page?: string
  /** The development build (whole error texts). */
  dev?: boolean
  /** Options through the nchan() preset of subwire/presets. */
  preset?: 'nchan'
}

/** A fresh browser context with the page, subscribed to `url`. `options.parse: 'seq'` reads `{ seq, body }` frames. */
async function subscribe(url: string | string[], options: Record<string, unknown>, { page: origin, dev, preset }: Subscribing & { page: string }): Promise<{ page: Page; got(): Promise<Got>; stored(): Promise<string | null> }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(String(e)))
  await page.goto(`${origin}/test/browser/pages/${dev ? 'development' : 'blank'}.html`)
  if (preset) {
    await page.addScriptTag({ url: '/test/browser/pages/presets.mjs', type: 'module' })
    await page.waitForFunction(() => 'presets' in window)
  }
  await page.evaluate(
    ({ url, options, preset }) => {
      const w = window as unknown as { got: Got; Subwire: typeof import('../../src/index'); presets: typeof import('../../src/presets') }
      const got: Got = (w.got = { events: [], errors: [], states: [], at: [] })
      const seq = (text: string) => {
        const { seq, body } = JSON.parse(text) as { seq: number; body: string }
        return { id: String(seq), data: body }
      }
      const own = { share: false, ...options, ...(options.parse === 'seq' && { parse: seq }) } as import('../../src/index').SubscribeOptions
      const sub = w.Subwire.subscribe(url, preset ? w.presets.nchan(own) : own)
      sub.on('message', (e) => (got.events.push({ data: e.data as string, id: e.id, transport: e.transport }), got.at.push(Date.now())))
      sub.on('error', (e) => got.errors.push(`${e.code}: ${e.message}`))
      sub.on('state', (s) => got.states.push(`${s.state}:${s.transport}`))
    },
    { url, options, preset },
  )
  return {
    page,
    got: async () => (expect(pageErrors).toEqual([]), page.evaluate(() => (window as unknown as { got: Got }).got)),
    stored: () => page.evaluate((path) => localStorage.getItem(`subwire:${path}`), Array.isArray(url) ? url[0]! : url.startsWith('/') ? `${origin}${url}` : url),
  }
}

/**
 * Connected: open, or 3 s on (a server that sends its headers only with its first event has the
 * request by then). A live-only server sends nothing of what it published before.
 */
async function connected(page: Page) {
  await page.waitForFunction(() => (window as unknown as { got: Got }).got.states.some((s) => s.startsWith('open:')), undefined, { timeout: 3000, polling: 50 }).catch(() => {})
}

async function waitFor(page: Page, count: number, ms = 60_000) {
  await page.waitForFunction((n) => (window as unknown as { got: Got }).got.events.length >= n, count, { timeout: ms, polling: 100 })
}

/** Publish m1…m`count` at `perSecond`, calling `cut` three times on the way (once progress shows). */
async function publish(target: { publish(k: number): unknown }, page: Page, cut: () => unknown, { count = 300, perSecond = 30, cuts = 3, first = 1 } = {}) {
  const every = Math.floor(count / (cuts + 1))
  for (let i = first; i <= count; i++) {
    await target.publish(i)
    await new Promise((r) => setTimeout(r, 1000 / perSecond))
    if (cuts && i % every === 0 && i < count) {
      await waitFor(page, i - 10)
      await cut()
    }
  }
  await waitFor(page, count)
}

const inOrderOnce = (got: Got, count = 300, from = 1) => expect(got.events.map((e) => e.data)).toEqual(Array.from({ length: count - from + 1 }, (_, i) => `m${i + from}`))
const transports = (got: Got) => [...new Set(got.events.map((e) => e.transport))].join(' → ')

/** 300 messages, three cuts, the page on `page` (default: the server's origin), subwire's defaults unless `options`. */
async function delivers(target: Target, options: Record<string, unknown> = {}, subscribing: Subscribing = {}) {
  const { page, got, stored } = await subscribe(`${target.origin}${target.path}`, { ...target.options, ...options }, { page: target.origin, ...subscribing })
  await connected(page)
  const start = Date.now()
  await publish(target, page, () => target.cut())
  const seen = await got()
  console.log(`[servers] 300 messages, 3 cuts: ${seen.events.length} delivered in ${Date.now() - start} ms over ${transports(seen)}; errors: ${seen.errors.map((e) => e.split(':')[0]).join(' ') || 'none'}`)
  if (process.env.DEBUG_SERVERS) console.log(seen.states.join(' '), seen.errors.join('\n'))
  inOrderOnce(seen)
  await page.context().close()
  return { seen, stored }
}

describe('servers people run, in Chromium: 300 messages, three cuts, every one once and in order', () => {
  it.each([
    ['hono (streamSSE)', hono],
    ['better-sse', betterSse],
    ['fastify (raw reply)', fastify],
    ['express with sse-channel', expressSseChannel],
  ])('%s, default options', async (_name, start) => {
    const target = started(await start())
    const { seen } = await delivers(target)
    expect(seen.events.at(-1)!.transport).toBe('eventsource')
  })

  it('express with sse-channel, the page on another origin (CORS)', async () => {
    const target = started(await expressSseChannel({ crossOrigin: true }))
    const { seen } = await delivers(target, {}, { page: pages.origin })
    expect(seen.events.at(-1)!.transport).toBe('eventsource')
  })

  it.each([
    ['aiohttp (StreamResponse)', 'aiohttp_sse.py'],
    ['Flask (a streamed generator)', 'flask_sse.py'],
  ])('%s, default options', async (_name, script) => {
    const target = started(await startPython(script))
    const { seen } = await delivers(target)
    expect(seen.events.at(-1)!.transport).toBe('eventsource')
  })

  it('Python websockets (JSON {id, data} frames, resume by ?lastEventId=), default options', async () => {
    const target = started(await startPython('websockets_ws.py', { path: '/' }))
    const { seen } = await delivers(target, {}, { page: pages.origin })
    expect(seen.events.every((e) => e.transport === 'websocket')).toBe(true)
  })

  it('a ws server with its own format ({seq, body}, resume by ?since=), read with parse', async () => {
    const target = started(await wsOwnFormat())
    const { seen } = await delivers(target)
    expect(seen.events.every((e) => e.transport === 'websocket')).toBe(true)
  })

  it('a plain SSE server quiet for its first 20 s (headers come with the first event): the stream is kept, never the fallback remembered', async () => {
    const target = started(await hono())
    const { page, got, stored } = await subscribe(`${target.origin}${target.path}`, {}, { page: target.origin })
    await new Promise((r) => setTimeout(r, 20_000))
    const start = Date.now()
    await publish(target, page, () => target.cut())
    const seen = await got()
    console.log(`[servers] quiet start: first event ${seen.at[0]! - start} ms after it was published; states ${seen.states.join(' ')}; stored ${await stored()}`)
    inOrderOnce(seen)
    expect(seen.events.at(-1)!.transport).toBe('eventsource')
    expect(await stored()).not.toMatch(/^longpoll/)
    await page.context().close()
  })
})

describe('nginx in front of a server', () => {
  it("nginx's defaults (proxy_buffering on: nothing, headers included, until a buffer is full): long polling within seconds, remembered, and the error says why", async () => {
    const upstream = started(await startServer({ accelBuffering: false }))
    const front = started(await startNginx(upstream.origin, { buffering: true }))
    const { page, got, stored } = await subscribe('/events', {}, { page: front.origin })
    const start = Date.now()
    await publish({ publish: (k) => upstream.publish({ data: `m${k}` }) }, page, () => front.cut())
    const seen = await got()
    const first = seen.at[0]! - start
    console.log(`[servers] nginx buffering: first event after ${first} ms; ${transports(seen)}; errors ${seen.errors.map((e) => e.split(':')[0]).join(' ')}`)
    inOrderOnce(seen)
    expect(first).toBeLessThan(5000)
    expect(seen.events.at(-1)!.transport).toBe('longpoll')
    expect(seen.errors.some((e) => e.startsWith('held: '))).toBe(true)
    // The stream, still trying beside long polling, shows nothing while long polling delivers: failed.
    for (let k = 301; !(await stored())?.startsWith('longpoll'); k++) {
      expect(Date.now() - start).toBeLessThan(90_000)
      upstream.publish({ data: `m${k}` })
      await new Promise((r) => setTimeout(r, 500))
    }
    await page.context().close()
  }, 150_000)

  it('nginx with proxy_buffering off and the upgrade headers passed: WebSocket, nothing lost', async () => {
    const upstream = started(await startServer({ accelBuffering: false }))
    const front = started(await startNginx(upstream.origin, { buffering: false }))
    const { page, got } = await subscribe('/events', {}, { page: front.origin })
    await publish({ publish: (k) => upstream.publish({ data: `m${k}` }) }, page, () => front.cut())
    const seen = await got()
    inOrderOnce(seen)
    expect(seen.events.at(-1)!.transport).toBe('websocket')
    await page.context().close()
  })
})

describe('Pushpin in front of a GRIP backend', () => {
  it.each([
    ['default options', undefined, 'websocket'],
    ['eventsource', ['eventsource'], 'eventsource'],
    ['longpoll', ['longpoll'], 'longpoll'],
    ['poll', ['poll'], 'poll'],
  ])('%s', async (_name, only, transport) => {
    const target = started(await startPushpin())
    const { seen } = await delivers(target, only ? { transports: only } : {})
    expect(seen.events.at(-1)!.transport).toBe(transport)
  })
})

describe('nchan with Redis', () => {
  it.each(['eventsource', 'websocket', 'longpoll'])('failover across two nodes over %s, the page on the first node: node A stops mid-stream, every message once', async (transport) => {
    const nchan: Nchan = started(await startNchan({ nodes: 2 }))
    const [a, b] = nchan.nodes as [NchanNode, NchanNode]
    const first = await nchan.publish(1, 'f', 'm0')
    const { page, got } = await subscribe([a.sub('f'), b.sub('f')], { transports: [transport], lastEventId: first }, { page: a.origin, preset: 'nchan' })
    await waitFor(page, 0)
    for (let k = 1; k <= 300; k++) {
      await nchan.publish(1, 'f', `m${k}`)
      await new Promise((r) => setTimeout(r, 1000 / 30))
      if (k === 150) {
        await waitFor(page, 140)
        await a.stop()
      }
    }
    await waitFor(page, 300)
    const seen = await got()
    console.log(`[servers] nchan failover over ${transport}: ${seen.events.length} delivered; errors ${seen.errors.map((e) => e.split(':')[0]).join(' ')}`)
    inOrderOnce(seen)
    await page.context().close()
  })

  it('the nchan() preset over interval polling: answers that bring a message are followed by the next poll at once', async () => {
    const nchan: Nchan = started(await startNchan({ nodes: 1 }))
    const [a] = nchan.nodes as [NchanNode]
    const first = await nchan.publish(0, 'p', 'm0')
    const { page, got } = await subscribe(a.poll('p'), { transports: ['poll'], lastEventId: first }, { page: pages.origin, preset: 'nchan' })
    await page.waitForFunction(() => (window as unknown as { got: Got }).got.states.includes('open:poll'), undefined, { timeout: 20_000 })
    const start = Date.now()
    for (let k = 1; k <= 40; k++) {
      await nchan.publish(0, 'p', `m${k}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await waitFor(page, 40, 30_000)
    const took = Date.now() - start
    console.log(`[servers] nchan poll: 40 messages published over 4 s, all delivered after ${took} ms`)
    inOrderOnce(await got(), 40)
    // pollInterval is 3 s: one message per interval would take two minutes.
    expect(took).toBeLessThan(4000 + 2 * 3000)
    await page.context().close()
  })

  it('nchan without the preset over WebSocket (raw frames, no ids, the buffer replayed on every connect): the development build says the nchan() preset is needed', async () => {
    const nchan: Nchan = started(await startNchan({ nodes: 1 }))
    const [a] = nchan.nodes as [NchanNode]
    await nchan.publish(0, 'r', 'm0')
    const { page, got } = await subscribe(a.sub('r'), { transports: ['websocket'] }, { page: a.origin, dev: true })
    await waitFor(page, 1)
    for (let k = 1; k <= 30; k++) await nchan.publish(0, 'r', `m${k}`)
    await waitFor(page, 31)
    a.cut()
    await page.waitForFunction(() => (window as unknown as { got: Got }).got.errors.some((e) => e.startsWith('no-ids: ')), undefined, { timeout: 20_000 })
    const seen = await got()
    expect(seen.errors.filter((e) => e.startsWith('no-ids: '))).toEqual([expect.stringMatching(/nchan\(\) preset/)])
    await page.context().close()
  })
})
