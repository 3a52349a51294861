// The server recipes in docs/recipes/ are real servers: each is started here and driven by the
// built bundle in Chromium over every transport it claims. Live events arrive while connected,
// events published while the connection is cut arrive once after it comes back (resume), a long
// poll on a quiet channel is held rather than answered at once, and an id the server no longer
// has gets a `reset`.
import { readFileSync } from 'node:fs'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from './harness'
// @ts-expect-error -- plain ESM recipe files, without declarations
import * as nodeHttp from '../../docs/recipes/node-http.mjs'
// @ts-expect-error -- as above
import * as expressRecipe from '../../docs/recipes/express.mjs'
// @ts-expect-error -- as above
import * as websocketRecipe from '../../docs/recipes/websocket.mjs'
// @ts-expect-error -- as above
import * as plainSse from '../../docs/recipes/plain-sse.mjs'

const bundle = readFileSync(new URL('../../dist/subwire.umd.min.js', import.meta.url), 'utf8')

interface Running {
  origin: string
  publish(data: string): void
  cut(): void
  requests(): number
  close(): Promise<void>
}

/** Start a recipe on a free port; count its requests; `cut` drops every connection it holds. */
async function run(started: { server: Server; listening: Promise<number>; log?: { publish(d: string): void }; publish?(d: string): void; wss?: { clients: Set<{ terminate(): void }> } }): Promise<Running> {
  const port = await started.listening
  let requests = 0
  // The recipes serve only /events: the test page at / is served around them (a page the browser
  // loaded from this origin, so that it may reach it over WebSocket too).
  const recipe = started.server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>
  started.server.removeAllListeners('request')
  started.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>recipe client</title>')
    requests++
    for (const listener of recipe) listener(req, res)
  })
  started.server.on('upgrade', () => requests++)
  return {
    origin: `http://127.0.0.1:${port}`,
    publish: (data) => (started.log ? started.log.publish(data) : started.publish!(data)),
    cut: () => {
      for (const client of started.wss?.clients ?? []) client.terminate()
      started.server.closeAllConnections()
    },
    requests: () => requests,
    close: () => {
      started.server.closeAllConnections()
      return new Promise<void>((resolve) => started.server.close(() => resolve()))
    },
  }
}

let browser: Browser
const open: Running[] = []
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  for (const server of open) await server.close()
})

interface Got {
  data: string[]
  transports: string[]
  resets: unknown[]
  errors: string[]
}

/** A page on the recipe's own origin, the bundle added, one subscription to /events. */
async function client(server: Running, options: Record<string, unknown>): Promise<{ page: Page; got(): Promise<Got> }> {
  const page = await (await browser.newContext()).newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(`${server.origin}/`)
  await page.addScriptTag({ content: bundle })
  await page.evaluate((options) => {
    const w = window as unknown as { got: Got; Subwire: typeof import('../../src/index') }
    const got: Got = (w.got = { data: [], transports: [], resets: [], errors: [] })
    const sub = w.Subwire.subscribe('/events', { share: false, rememberFor: 0, ...options })
    sub.on('message', (e) => {
      got.data.push(String(e.data))
      got.transports.push(e.transport)
    })
    sub.on('reset', (info) => got.resets.push(info))
    sub.on('error', (e) => got.errors.push(e.message))
  }, options)
  return { page, got: async () => (expect(errors).toEqual([]), page.evaluate(() => (window as unknown as { got: Got }).got)) }
}

const count = (page: Page, n: number) =>
  page.waitForFunction((n) => (window as unknown as { got: Got }).got.data.length >= n, n, { timeout: 20_000, polling: 50 })

/** Live, cut with events published while down, live again: every message once, in order. */
async function liveAndResume(server: Running, options: Record<string, unknown>, transport: string) {
  server.publish('before') // published before the page subscribes: not for it
  const { page, got } = await client(server, { transports: [transport], ...options })
  await new Promise((r) => setTimeout(r, 500)) // connected, and positioned at "now"
  for (let i = 1; i <= 5; i++) server.publish(`m${i}`)
  await count(page, 5)
  server.cut()
  for (let i = 6; i <= 10; i++) server.publish(`m${i}`) // while the connection is down
  await count(page, 10)
  for (let i = 11; i <= 15; i++) server.publish(`m${i}`)
  await count(page, 15)
  const seen = await got()
  expect(seen.data).toEqual(Array.from({ length: 15 }, (_, i) => `m${i + 1}`))
  expect(new Set(seen.transports)).toEqual(new Set([transport]))
  await page.context().close()
}

/** A quiet long poll is held: over 3 quiet seconds, no more than the one request in flight. */
async function holds(server: Running) {
  const { page } = await client(server, { transports: ['longpoll'] })
  await new Promise((r) => setTimeout(r, 1000))
  const before = server.requests()
  await new Promise((r) => setTimeout(r, 3000))
  expect(server.requests() - before).toBeLessThanOrEqual(1)
  await page.context().close()
}

/** Asked to resume from an id it never had, the server says `reset`, and new events still come. */
async function resets(server: Running, transport: string) {
  const { page, got } = await client(server, { transports: [transport], lastEventId: '999999' })
  await page.waitForFunction(() => (window as unknown as { got: Got }).got.resets.length === 1, null, { timeout: 10_000 })
  server.publish('after reset')
  await page.waitForFunction(() => (window as unknown as { got: Got }).got.data.includes('after reset'), null, { timeout: 10_000 })
  expect((await got()).resets[0]).toMatchObject({ transport, lastEventId: '999999' })
  await page.context().close()
}

describe('docs/recipes in Chromium', () => {
  for (const [name, recipe] of [
    ['node-http.mjs', nodeHttp],
    ['express.mjs', expressRecipe],
  ] as const) {
    for (const transport of ['eventsource', 'longpoll', 'poll']) {
      it(`${name} over ${transport}: live, resumed after a cut, every message once`, async () => {
        const server = await run(recipe.start(0))
        open.push(server)
        await liveAndResume(server, { pollInterval: 300 }, transport)
        await resets(server, transport)
      }, 60_000)
    }
    it(`${name}: a long poll on a quiet channel is held`, async () => {
      const server = await run(recipe.start(0))
      open.push(server)
      await holds(server)
    })
  }

  it('express.mjs: a POST to /notices reaches an open stream at once, as a notice event', async () => {
    const server = await run(expressRecipe.start(0))
    open.push(server)
    const { page } = await client(server, { transports: ['eventsource'], decode: 'json' })
    await page.evaluate(() => {
      const w = window as unknown as { notices: string[]; Subwire: typeof import('../../src/index') }
      w.notices = []
      w.Subwire.subscribe<{ notice: { text: string } }>('/events', { share: false, transports: ['eventsource'], decode: 'json' }).on('notice', (e) => w.notices.push(e.data.text))
    })
    await new Promise((r) => setTimeout(r, 500))
    const response = await fetch(`${server.origin}/notices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hello' }) })
    expect(response.status).toBe(201)
    await page.waitForFunction(() => (window as unknown as { notices: string[] }).notices.includes('hello'), null, { timeout: 10_000 })
    await page.context().close()
  })

  it('websocket.mjs over websocket: live, resumed after a cut, every message once; reset', async () => {
    const server = await run(websocketRecipe.start(0))
    open.push(server)
    await liveAndResume(server, {}, 'websocket')
    await resets(server, 'websocket')
  }, 60_000)

  it('plain-sse.mjs over eventsource: live, resumed by Last-Event-ID', async () => {
    const server = await run(plainSse.start(0))
    open.push(server)
    server.publish('m0')
    const { page, got } = await client(server, { transports: ['eventsource'] })
    await count(page, 1) // a plain server replays everything to a new client: m0 included
    for (let i = 1; i <= 5; i++) server.publish(`m${i}`)
    await count(page, 6)
    server.cut()
    for (let i = 6; i <= 10; i++) server.publish(`m${i}`)
    await count(page, 11)
    expect((await got()).data).toEqual(Array.from({ length: 11 }, (_, i) => `m${i}`))
    await page.context().close()
  }, 60_000)
})
