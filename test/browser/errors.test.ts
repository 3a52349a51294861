// What a new user sees when something is wrong, in Chromium: in the development build each
// error's text names the cause and the likely fix; in the production build it carries the same
// stable code and points to docs/errors.md, where the code is explained. Also the two signals an app acts on: `open` with the HTTP status and headers,
// and `reset` when the server cannot resume from the id it was given, on every transport.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, startServer, type TestServer } from './harness'

let browser: Browser
let server: TestServer
let noCors: Server
let noCorsUrl: string

beforeAll(async () => {
  browser = await launchBrowser()
  server = await startServer({
    handlers: {
      // A proxy's login page where the event stream should be.
      http: (req: { url: string }, res: { writeHead(s: number, h: object): { end(b: string): void } }, url: URL) => {
        // A hung server: takes the request, never answers.
        if (url.pathname === '/hung') return true
        if (url.pathname !== '/behind-login') return false
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Sign in</title><form>…</form>')
        return true
      },
      // A WebSocket server that checks Origin and refuses this page's.
      upgrade: (_req: unknown, socket: { end(s: string): void }, _head: unknown, url: URL) => {
        if (url.pathname !== '/origin-checked') return false
        socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
        return true
      },
    },
  })
  // An SSE server on another origin that sends no Access-Control-Allow-Origin.
  noCors = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: never read\n\n'))
  await new Promise<void>((r) => noCors.listen(0, '127.0.0.1', r))
  noCorsUrl = `http://127.0.0.1:${(noCors.address() as AddressInfo).port}/events`
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
  noCors?.close()
})

interface Seen {
  errors: Array<{ name: string; kind: string; code: string; message: string; transport?: string | undefined }>
  thrown?: { name: string; kind: string; code: string; message: string }
  data: string[]
  opens: Array<{ transport: string; status?: number | undefined; contentType?: string | null | undefined }>
  resets: unknown[]
  states: string[]
}

type Build = 'development' | 'production'

async function watch(url: string, options: Record<string, unknown>, build: Build = 'production'): Promise<{ page: Page; seen(): Promise<Seen> }> {
  const page = await (await browser.newContext()).newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(String(e)))
  await page.goto(`${server.origin}/test/browser/pages/${build === 'development' ? 'development' : 'blank'}.html`)
  await page.evaluate(
    ({ url, options }) => {
      const w = window as unknown as { seen: Seen; Subwire: typeof import('../../src/index') }
      const seen: Seen = (w.seen = { errors: [], data: [], opens: [], resets: [], states: [] })
      try {
        const sub = w.Subwire.subscribe(url, { share: false, rememberFor: 0, ...options })
        sub.on('error', (e) => seen.errors.push({ name: e.name, kind: e.kind, code: e.code, message: e.message, transport: e.transport }))
        sub.on('message', (e) => seen.data.push(String(e.data)))
        sub.on('open', (info) => seen.opens.push({ transport: info.transport, status: info.status, contentType: info.headers?.get('content-type') }))
        sub.on('reset', (info) => seen.resets.push(info))
        sub.on('state', (s) => seen.states.push(`${s.state}:${s.transport}`))
      } catch (e) {
        const error = e as { name: string; kind: string; code: string; message: string }
        seen.thrown = { name: error.name, kind: error.kind, code: error.code, message: error.message }
      }
    },
    { url, options },
  )
  return { page, seen: async () => (expect(pageErrors).toEqual([]), page.evaluate(() => (window as unknown as { seen: Seen }).seen)) }
}

const until = (page: Page, check: string) => page.waitForFunction(`(() => { const seen = window.seen; return ${check} })()`, null, { timeout: 15_000, polling: 50 })

/** The development build says `text`; the production build, the same `code` and where it is explained. */
function expectSaid(build: Build, error: { code: string; message: string } | undefined, code: string, text: string): void {
  expect(error?.code).toBe(code)
  if (build === 'development') expect(error!.message).toBe(text)
  else expect(error!.message).toMatch(new RegExp(`${code}.*\\(docs/errors\\.md#${code}\\)$`))
}

describe.each(['development', 'production'] as const)('error messages name the cause and the fix (%s build), in Chromium', (build) => {
  it('a fetch that fails with no response (CORS): network error or CORS rejection, and what to check', async () => {
    const { page, seen } = await watch(noCorsUrl, { transports: ['eventsource'] }, build)
    await until(page, 'seen.errors.length >= 1')
    const [error] = (await seen()).errors
    expect(error).toMatchObject({ name: 'ConnectionError', kind: 'connection' })
    expectSaid(build, error, 'network', 'eventsource: network error or CORS rejection: is the server up, and does it send Access-Control-Allow-Origin for this origin?')
    await page.context().close()
  })

  it('a wrong scheme: a config error at once, naming the URLs that work', async () => {
    const { page, seen } = await watch('ftp://example.com/events', {}, build)
    const { thrown } = await seen()
    expect(thrown).toMatchObject({ name: 'SubwireError', kind: 'config' })
    expectSaid(build, thrown, 'bad-url', 'subscribe(): url "ftp://example.com/events" is not an http(s): or ws(s): URL: pass one such as https://example.com/events or /events')
    await page.context().close()
  })

  it('a 404 on one transport only: that transport is named with the fix, and the next one delivers', async () => {
    const { page, seen } = await watch('/events', { transports: ['longpoll', 'eventsource'], urls: { longpoll: '/no-such-path' } }, build)
    await until(page, 'seen.states.includes("open:eventsource")')
    server.publish({ data: 'after the fallback' })
    await until(page, 'seen.data.includes("after the fallback")')
    const { errors } = await seen()
    expect(errors[0]).toMatchObject({ name: 'HttpError', transport: 'longpoll' })
    expectSaid(build, errors[0], 'http', 'longpoll: HTTP 404 (no stream here: check url, give this transport its own with urls, or leave it out of transports)')
    await page.context().close()
  })

  it('a WebSocket refused for this origin: the text asks about the URL and the origin', async () => {
    const { page, seen } = await watch('/origin-checked', { transports: ['websocket'] }, build)
    await until(page, 'seen.errors.length >= 1')
    const [error] = (await seen()).errors
    expect(error).toMatchObject({ name: 'ConnectionError', transport: 'websocket' })
    expectSaid(build, error, 'ws-refused', "websocket: could not connect (upgrade refused, blocked by a proxy, or a network error): is the server up, and does it accept WebSocket at this URL from this page's origin?")
    await page.context().close()
  })

  it('an HTML page where events were expected (a proxy login page): said as such', async () => {
    const { page, seen } = await watch('/behind-login', { transports: ['eventsource'] }, build)
    await until(page, 'seen.errors.length >= 1')
    const [error] = (await seen()).errors
    expect(error).toMatchObject({ name: 'ProtocolError', transport: 'eventsource' })
    expectSaid(build, error, 'html', 'eventsource: an HTML page came back where events were expected (a login page or a proxy error page?): check url, and what stands in front of the server')
    await page.context().close()
  })
})

it('a hung server over HTTP/1.1 with one stream open: the timeout says no answer, and does not blame the six-connection limit (development build)', async () => {
  const { page, seen } = await watch('/hung', { transports: ['eventsource'], eventsource: 'fetch', connectTimeout: 1000 }, 'development')
  await until(page, 'seen.errors.length >= 1')
  const [error] = (await seen()).errors
  expect(error).toMatchObject({ name: 'TimeoutError', code: 'no-answer' })
  expect(error!.message).toBe('eventsource: no answer within connectTimeout (1000 ms): a proxy may hold it, or the server is down')
  await page.context().close()
})

describe('open and reset, on every transport, in Chromium', () => {
  for (const transport of ['websocket', 'eventsource', 'longpoll', 'poll']) {
    it(`${transport}: open tells the status and headers (HTTP transports); an unknown resume id gives one reset, then events`, async () => {
      const { page, seen } = await watch('/events', { transports: [transport], lastEventId: '999999', pollInterval: 300 })
      await until(page, 'seen.resets.length >= 1')
      server.publish({ data: `after reset on ${transport}` })
      await until(page, `seen.data.includes("after reset on ${transport}")`)
      await until(page, 'seen.opens.length >= 1')
      const got = await seen()
      expect(got.resets).toEqual([{ transport, lastEventId: '999999' }])
      expect(got.data).not.toContain('reset')
      if (transport === 'websocket') expect(got.opens[0]).toEqual({ transport, status: undefined, contentType: undefined })
      else expect(got.opens[0]).toMatchObject({ transport, status: 200, contentType: expect.stringContaining('text/event-stream') })
      await page.context().close()
    })
  }
})
