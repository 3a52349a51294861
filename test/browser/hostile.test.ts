// Hostile servers in Chromium (test/browser/hostile.mjs): every hint bounded, every stall caught,
// no false alarm, no bad value used. All cases run at once, each in its own browser context, over
// one fixed window; then each is checked: requests the server saw, final state, errors, events.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createServer, type Server } from 'node:http'
import { launchBrowser, startServer, type TestServer } from './harness'
// @ts-expect-error -- plain ESM module without declarations
import { hostile } from './hostile.mjs'

const WINDOW = 10_000

let browser: Browser
let server: TestServer
const contexts: BrowserContext[] = []

beforeAll(async () => {
  browser = await launchBrowser()
  server = await startServer({ handlers: hostile.handlers })
})
afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {})
  await browser?.close()
  await server?.close()
})

interface Seen {
  states: Array<{ state: string; transport: string; delay?: number }>
  errors: Array<{ name: string; kind: string; code: string; message: string; retryAfter?: number | undefined }>
  events: Array<{ type: string; data: string; id?: string | undefined; lastEventId: string; transport: string; listener: string }>
}

interface Case {
  page: Page
  crashed: boolean
  pageErrors: string[]
  seen(): Promise<Seen>
}

/** A page in its own context that subscribes to /h/<name> and records everything. */
async function watch(name: string, options: Record<string, unknown>, listeners = ['message']): Promise<Case> {
  const context = await browser.newContext()
  contexts.push(context)
  const page = await context.newPage()
  const result: Case = { page, crashed: false, pageErrors: [], seen: () => page.evaluate(() => (window as unknown as { seen: Seen }).seen) }
  page.on('crash', () => (result.crashed = true))
  page.on('pageerror', (error) => result.pageErrors.push(String(error)))
  await page.goto(`${server.origin}/test/browser/pages/blank.html`)
  await page.evaluate(
    ({ name, options, listeners }) => {
      const seen: Seen = ((window as unknown as { seen: Seen }).seen = { states: [], errors: [], events: [] })
      const sub = (window as unknown as { Subwire: typeof import('../../src/index') }).Subwire.subscribe(`/h/${name}`, { rememberFor: 0, share: false, ...options })
      sub.on('state', (s) => seen.states.push({ state: s.state, transport: s.transport!, ...(s.delay === undefined ? {} : { delay: s.delay }) }))
      sub.on('error', (e) => seen.errors.push({ name: e.name, kind: e.kind, code: e.code, message: e.message, retryAfter: (e as { retryAfter?: number }).retryAfter }))
      for (const listener of listeners) {
        sub.on(listener, (e) => seen.events.push({ type: e.type, data: String(e.data).slice(0, 100), id: e.id, lastEventId: e.lastEventId.slice(0, 100), transport: e.transport, listener }))
      }
    },
    { name, options, listeners },
  )
  return result
}

const lastState = (seen: Seen) => seen.states.at(-1)!

describe('hostile servers in Chromium', () => {
  const cases = new Map<string, Case>()
  const counted = new Map<string, number>()
  const run = (key: string, name: string, options: Record<string, unknown>, listeners?: string[]) =>
    watch(name, options, listeners).then((c) => void cases.set(key, c))

  beforeAll(async () => {
    const quick = { retry: { initialDelay: 1000, maxDelay: 30000 } }
    await Promise.all([
      // Storms
      run('retry-after-huge', 'retry-after-huge', { ...quick, transports: ['longpoll'] }),
      run('retry-after-zero', 'retry-after-zero', { ...quick, transports: ['longpoll'] }),
      run('retry-after-past', 'retry-after-past', { ...quick, transports: ['longpoll'] }),
      run('retry-field-huge', 'retry-field-huge', { ...quick, transports: ['eventsource'] }),
      run('retry-field-digits', 'retry-field-digits', { ...quick, transports: ['eventsource'] }),
      run('retry-field-zero', 'retry-field-zero', { ...quick, transports: ['eventsource'] }),
      run('json-retry-infinity', 'json-retry-infinity', { ...quick, transports: ['websocket'] }),
      run('ws-1013-huge', 'ws-1013-huge', { ...quick, transports: ['websocket'] }),
      run('ws-1012', 'ws-1012', { ...quick, transports: ['websocket'] }),
      // Polls that answer anything at once
      run('lp-json-error', 'lp-json-error', { ...quick, transports: ['longpoll'] }),
      run('lp-empty-array', 'lp-empty-array', { ...quick, transports: ['longpoll'] }),
      run('lp-text-502', 'lp-text-502', { ...quick, transports: ['longpoll'] }),
      run('lp-empty-200', 'lp-empty-200', { ...quick, transports: ['longpoll'] }),
      run('lp-204', 'lp-204', { ...quick, transports: ['longpoll'] }),
      run('poll-json-error', 'poll-json-error', { ...quick, transports: ['poll'], pollInterval: 0 }),
      run('poll-204', 'poll-204', { ...quick, transports: ['poll'], pollInterval: 0 }),
      // Unproven
      run('sse-empty', 'sse-empty', { ...quick, transports: ['eventsource', 'longpoll'] }),
      run('ws-clean-close', 'ws-clean-close', { ...quick, transports: ['websocket', 'longpoll'] }),
      // Stalls
      run('lp-stall-body', 'lp-stall-body', { ...quick, transports: ['longpoll'], longPollTimeout: 3000 }),
      run('poll-endless-json', 'poll-endless-json', { ...quick, transports: ['poll'], maxEventSize: 100_000 }),
      // No false alarm. (silent: 'trust': no transport is started beside the stream, so that a first
      // byte slowed past the race delay by this loaded machine — 26 pages — adds no request.)
      run('sse-two-line-heartbeat', 'sse-two-line-heartbeat', { ...quick, transports: ['eventsource', 'longpoll'], silent: 'trust' }),
      run('sse-comment-per-event', 'sse-comment-per-event', { ...quick, transports: ['eventsource', 'longpoll'], silent: 'trust' }),
      // Bad values
      run('id-huge', 'id-huge', { ...quick, transports: ['eventsource'] }),
      run('json-ids', 'json-ids', { ...quick, transports: ['websocket'] }),
      run('ws-huge-event-line', 'ws-huge-event-line', { ...quick, transports: ['websocket'] }),
      run('proto-sse', 'proto-types', { transports: ['eventsource'] }, ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'message']),
      run('proto-native', 'proto-types', { transports: ['eventsource'], eventsource: 'native' }, ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'message']),
      run('proto-ws', 'proto-types', { transports: ['websocket'] }, ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'message']),
    ])
    await new Promise((r) => setTimeout(r, WINDOW))
    // Requests within the window; what the pages say is read later (background pages' timers
    // are throttled to whole seconds, so a fifth answer may come a little after the window).
    for (const name of hostile.urls.keys()) counted.set(name, hostile.count(name))
  }, 120_000)

  const get = async (key: string) => {
    const c = cases.get(key)!
    expect(c.crashed).toBe(false)
    expect(c.pageErrors).toEqual([])
    return c.seen()
  }
  const requests = (name: string) => counted.get(name) ?? 0

  it.each([
    ['retry-after-huge', 'http 503'],
    ['retry-field-huge', ''],
    ['retry-field-digits', ''],
    ['json-retry-infinity', ''],
    ['ws-1013-huge', 'ws-closed 1013'],
  ])('a hint of an hour or more (%s) waits one hour: no storm', async (name, message) => {
    const seen = await get(name)
    console.log(`[hostile] ${name}: ${requests(name)} requests in ${WINDOW} ms`)
    expect(requests(name)).toBeLessThanOrEqual(2)
    const waiting = lastState(seen)
    expect(waiting.state).toBe('reconnecting')
    expect(waiting.delay).toBeGreaterThanOrEqual(3_600_000)
    expect(waiting.delay).toBeLessThanOrEqual(2 ** 31 - 1)
    // (The production build's message: the code and its numbers.)
    if (message) expect(seen.errors.at(-1)!.message).toContain(message)
  })

  it.each(['retry-after-zero', 'retry-after-past', 'retry-field-zero', 'ws-1012'])('a hint of zero or a second, again and again (%s), grows: no storm', async (name) => {
    const seen = await get(name)
    console.log(`[hostile] ${name}: ${requests(name)} requests in ${WINDOW} ms; delays ${seen.states.filter((s) => s.delay !== undefined).map((s) => s.delay)}`)
    expect(requests(name)).toBeLessThanOrEqual(6)
    const delays = seen.states.filter((s) => s.state === 'reconnecting').map((s) => s.delay!)
    expect(delays.length).toBeGreaterThanOrEqual(2)
    expect(delays[1]).toBeGreaterThanOrEqual(2000)
  })

  it.each([
    ['lp-json-error', 'not-envelopes'],
    ['lp-empty-array', 'not-long-poll 5'],
    ['lp-text-502', 'content-type'],
    ['lp-empty-200', 'not-long-poll 5'],
    ['lp-204', 'not-long-poll 5'],
  ])('a long poll answered at once with anything (%s) waits a growing floor and fails, typed (%s)', async (name, message) => {
    const { page } = cases.get(name)!
    await page.waitForFunction((m) => (window as unknown as { seen: Seen }).seen.errors.some((e) => e.message.includes(m)), message, { timeout: 15_000 })
    const seen = await get(name)
    console.log(`[hostile] ${name}: ${requests(name)} requests in ${WINDOW} ms`)
    // 8–9 here (five answers on the floor 0.5, 1, 2, 4 s, the failure, then the next round); on a
    // loaded machine an empty answer that arrives a second late looks held and starts the floor
    // again (11 seen). A storm would be hundreds.
    expect(requests(name)).toBeLessThanOrEqual(12)
    expect(seen.errors.every((e) => e.kind === 'protocol')).toBe(true)
    expect(seen.events).toEqual([])
    // (Not asserted: that it never says 'open'. An empty answer that takes a second to arrive on a
    // loaded machine looks held, which is a proof; the floor and the failure above still hold.)
  })

  it('a short poll at pollInterval 0 against empty or wrong answers stays under its floor', async () => {
    for (const name of ['poll-204', 'poll-json-error']) {
      const seen = await get(name)
      console.log(`[hostile] ${name} (pollInterval 0): ${requests(name)} requests in ${WINDOW} ms`)
      expect(requests(name)).toBeLessThanOrEqual(20)
      expect(seen.events).toEqual([])
    }
    expect((await get('poll-json-error')).errors.some((e) => e.kind === 'protocol')).toBe(true)
  })

  it('an SSE 200 with an empty body, or a WebSocket closed cleanly before any byte, is a failure: fall back', async () => {
    for (const name of ['sse-empty', 'ws-clean-close']) {
      const seen = await get(name)
      expect(seen.events.length).toBeGreaterThan(0)
      expect(seen.events.every((e) => e.transport === 'longpoll')).toBe(true)
      expect(lastState(seen).transport).toBe('longpoll')
    }
    expect(hostile.transports.get('sse-empty').filter((t: string) => t === 'eventsource')).toHaveLength(1)
    expect(hostile.transports.get('ws-clean-close').filter((t: string) => t === 'websocket')).toHaveLength(1)
  })

  it('a long-poll body that stalls after its headers is cut by longPollTimeout', async () => {
    const seen = await get('lp-stall-body')
    console.log(`[hostile] lp-stall-body: ${requests('lp-stall-body')} requests; states ${seen.states.map((s) => s.state).join(' ')}`)
    expect(seen.errors.some((e) => e.kind === 'timeout' && e.code === 'poll-timeout' && e.message.includes('poll-timeout 3000'))).toBe(true)
    expect(requests('lp-stall-body')).toBeGreaterThanOrEqual(2)
    expect(requests('lp-stall-body')).toBeLessThanOrEqual(4)
    expect(seen.states.some((s) => s.state === 'open')).toBe(false)
    expect(seen.events).toEqual([])
  })

  it('a JSON poll body that never ends is cut once it passes maxEventSize: the request is closed, the page is not filled', async () => {
    const seen = await get('poll-endless-json')
    // (Counted once every request is over: one may still be under way when the window ends.)
    await vi.waitFor(() => expect(hostile.cut.filter((c: { name: string }) => c.name === 'poll-endless-json').length).toBe(hostile.count('poll-endless-json')), { timeout: 10_000 })
    const cut = hostile.cut.filter((c: { name: string }) => c.name === 'poll-endless-json')
    console.log(`[hostile] poll-endless-json: ${requests('poll-endless-json')} requests, cut after ${cut.map((c: { sent: number }) => c.sent).join(', ')} bytes sent`)
    expect(seen.errors[0]).toMatchObject({ name: 'ProtocolError', code: 'big-body', message: expect.stringContaining('big-body 100000') })
    // Every request was cut by the client (none left streaming). The server writes 2 MB/s for as long
    // as the request lasts; what it had sent when the cut came depends on how busy the machine is
    // (read, then socket buffers), so the bound is far from that and far below a body read for the
    // whole window (20 MB): cut, not read on.
    expect(cut.length).toBeGreaterThanOrEqual(requests('poll-endless-json'))
    for (const c of cut) expect((c as { sent: number }).sent).toBeLessThan(8_000_000)
    expect(seen.events).toEqual([])
  })

  it('an honest SSE server is not taken for a buffering proxy: two-line heartbeats, or a comment per event at 1000 events/s', async () => {
    for (const name of ['sse-two-line-heartbeat', 'sse-comment-per-event']) {
      const seen = await get(name)
      const transports: string[] = hostile.transports.get(name) ?? []
      const of = (transport: string) => transports.filter((t) => t === transport).length
      console.log(`[hostile] ${name}: ${seen.events.length} events, ${requests(name)} requests (${transports.join(' ')}), errors ${seen.errors.map((e) => e.kind)}`)
      expect(seen.errors).toEqual([])
      // One stream, never left.
      expect(requests(name)).toBe(1)
      expect(of('eventsource')).toBe(1)
      expect(seen.events.every((e) => e.transport === 'eventsource')).toBe(true)
      const ids = seen.events.map((e) => Number(e.id))
      expect(ids).toEqual([...ids].sort((a, b) => a - b))
    }
    expect((await get('sse-comment-per-event')).events.length).toBeGreaterThan(2000)
  })

  it('an id of 2 MiB is dropped with a ProtocolError, the previous one kept; the reconnect carries a small id', async () => {
    const seen = await get('id-huge')
    expect(seen.errors[0]).toMatchObject({ kind: 'protocol' })
    expect(seen.errors[0]).toMatchObject({ code: 'bad-id', message: expect.stringContaining('bad-id 4096') })
    expect(seen.events.slice(0, 2).map((e) => [e.data, e.lastEventId])).toEqual([
      ['a', ''],
      ['b', 'small'],
    ])
    expect(seen.events.length).toBeGreaterThanOrEqual(3)
    expect(requests('id-huge')).toBeGreaterThanOrEqual(2)
  })

  it('JSON ids with NUL, CR/LF or of the wrong type are ignored with a warning; fetches go on working', async () => {
    const seen = await get('json-ids')
    expect(seen.errors.filter((e) => e.code === 'bad-id')).toHaveLength(3)
    expect(seen.events.slice(0, 4).map((e) => [e.data, e.lastEventId])).toEqual([
      ['1', ''],
      ['2', ''],
      ['3', ''],
      ['4', 'ok'],
    ])
    expect(seen.events.at(-1)).toMatchObject({ data: 'after reconnect', lastEventId: 'next' })
    expect(hostile.urls.get('json-ids')[1]).toContain('lastEventId=ok')
  })

  it('a 20 MB event line in one WebSocket frame is dropped with a maxEventSize error; the stream goes on', async () => {
    const seen = await get('ws-huge-event-line')
    expect(seen.errors[0]!.code).toMatch(/^big-(frame|event)$/)
    expect(seen.errors[0]!.message).toContain(' 8388608 ')
    expect(seen.events.map((e) => e.data)).toEqual(['fine'])
  })

  it.each(['proto-sse', 'proto-native', 'proto-ws'])('event types named like Object.prototype members reach only their own listeners (%s)', async (key) => {
    const seen = await get(key)
    const byListener = (listener: string) => seen.events.filter((e) => e.listener === listener).map((e) => e.type)
    for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'message']) expect(byListener(type)).toEqual([type])
  })
})

describe('redirects', () => {
  let other: Server
  const seenByOther: Array<{ url: string; authorization?: string | undefined; token?: string | undefined; lastEventId?: string | undefined }> = []
  let otherOrigin = ''

  beforeAll(async () => {
    other = createServer((req, res) => {
      seenByOther.push({ url: req.url!, authorization: req.headers.authorization, token: req.headers['x-token'] as string, lastEventId: req.headers['last-event-id'] as string })
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'access-control-allow-origin': req.headers.origin ?? '*',
        'access-control-allow-headers': 'authorization, x-token, last-event-id',
      })
      res.end(req.method === 'OPTIONS' ? '' : 'id: 1\ndata: from the other origin\n\n')
    })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    otherOrigin = `http://localhost:${(other.address() as { port: number }).port}`
    const previous = hostile.handlers.http
    hostile.handlers.http = (req: { url: string }, res: { writeHead(s: number, h: object): { end(): void } }, url: URL) => {
      if (url.pathname !== '/h/redirect') return previous(req, res, url)
      res.writeHead(302, { location: `${otherOrigin}/elsewhere` }).end()
      return true
    }
  })
  afterAll(() => other?.close())

  it("does not follow a cross-origin redirect with your headers (redirect: 'same-origin'), follows one without them, and follows all with 'follow'", async () => {
    const withHeaders = await watch('redirect', { transports: ['longpoll'], headers: { authorization: 'Bearer secret', 'x-token': 'secret' } })
    const plain = await watch('redirect', { transports: ['longpoll'] })
    const follow = await watch('redirect', { transports: ['longpoll'], headers: { 'x-token': 'secret' }, redirect: 'follow' })
    await new Promise((r) => setTimeout(r, 2000))
    const a = await withHeaders.seen()
    expect(lastState(a).state).toBe('closed')
    expect(a.errors[0]).toMatchObject({ kind: 'config' })
    expect(a.errors[0]!.code).toBe('redirect')
    expect((await plain.seen()).events[0]).toMatchObject({ data: 'from the other origin' })
    expect((await follow.seen()).events[0]).toMatchObject({ data: 'from the other origin' })
    // The other origin never saw the token, except where 'follow' asked for it (and Chromium drops Authorization).
    const tokens = seenByOther.filter((r) => r.token).map((r) => r.token)
    expect(new Set(tokens)).toEqual(new Set(['secret']))
    expect(seenByOther.some((r) => r.authorization)).toBe(false)
    expect(seenByOther.filter((r) => r.url.startsWith('/elsewhere')).length).toBeGreaterThanOrEqual(2)
  })
})
