import { describe, expect, it, vi } from 'vitest'
import { http, HttpResponse, ws } from 'msw'
import { subscribe, HttpError, DecodeError, ProtocolError, type SubwireEvent, type SubscribeOptions } from '../../src/index'
import { URL_, useNetwork } from '../fixtures/network'
import { expectSaid, line, saying } from '../fixtures/said'

const server = useNetwork()

const sse = (body: string, init: ResponseInit = {}) =>
  new HttpResponse(body, { ...init, headers: { 'content-type': 'text/event-stream', ...(init.headers ?? {}) } })

/** A stream that sends `chunks` one by one and then stays open. */
function openStream(chunks: string[]) {
  const encoder = new TextEncoder()
  return new HttpResponse(
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )
}

// Each test gets its own connection: these tests are about transports, not sharing.
const quick = { retry: { initialDelay: 10, maxDelay: 20 }, env: { random: () => 0 }, share: false } satisfies SubscribeOptions

function collect(sub: { on(type: string, l: (e: any) => void): () => void }, types = ['message']) {
  const events: SubwireEvent<unknown>[] = []
  for (const type of types) sub.on(type, (e) => events.push(e))
  return events
}

const until = (check: () => boolean, ms = 2000) => vi.waitFor(() => expect(check()).toBe(true), { timeout: ms, interval: 5 })

describe('longpoll transport', () => {
  it('delivers events from each response and sends the resume id on the next request', async () => {
    const seen: Array<string | null> = []
    let n = 0
    server.use(
      http.get(URL_, ({ request }) => {
        const url = new URL(request.url)
        expect(url.searchParams.get('transport')).toBe('longpoll')
        seen.push(url.searchParams.get('lastEventId'))
        n++
        if (n === 1) return sse('id: 1\ndata: one\n\nid: 2\nevent: tick\ndata: line a\ndata: line b\n\n')
        if (n === 2) return sse('id: 3\ndata: three\n\n')
        return new HttpResponse(null, { status: 204 })
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const events = collect(sub, ['message', 'tick'])
    await until(() => events.length === 3 && seen.length >= 3)
    sub.close()
    expect(events.map((e) => [e.type, e.data, e.id, e.lastEventId, e.transport])).toEqual([
      ['message', 'one', '1', '1', 'longpoll'],
      ['tick', 'line a\nline b', '2', '2', 'longpoll'],
      ['message', 'three', '3', '3', 'longpoll'],
    ])
    expect(seen.slice(0, 3)).toEqual([null, '2', '3'])
    expect(sub.lastEventId).toBe('3')
    expect(sub.state).toBe('closed')
  })

  it('accepts JSON bodies: one event or an array', async () => {
    let n = 0
    server.use(
      http.get(URL_, () => {
        n++
        if (n === 1) return HttpResponse.json([{ id: 1, data: { a: 1 } }, { id: 2, event: 'x', data: 'two' }, { id: 3 }])
        if (n === 2) return HttpResponse.json({ data: 'four' })
        return new HttpResponse(null, { status: 204 })
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const events = collect(sub, ['message', 'x'])
    await until(() => events.length === 3)
    sub.close()
    expect(events.map((e) => [e.type, e.data, e.lastEventId])).toEqual([
      ['message', '{"a":1}', '1'],
      ['x', 'two', '2'],
      ['message', 'four', '3'],
    ])
  })

  it('retries after an HTTP 503 as long as Retry-After says, then resumes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const times: number[] = []
    let n = 0
    server.use(
      http.get(URL_, () => {
        times.push(Date.now())
        n++
        if (n === 1) return new HttpResponse('busy', { status: 503, headers: { 'retry-after': '2' } })
        if (n === 2) return sse('id: 7\ndata: back\n\n')
        return new Promise(() => {})
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const errors: unknown[] = []
    sub.on('error', (e) => errors.push(e))
    const states: string[] = []
    sub.on('state', (s) => states.push(`${s.state}${s.delay === undefined ? '' : ':' + s.delay}`))
    const events = collect(sub)
    await vi.advanceTimersByTimeAsync(1999)
    expect(n).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    await vi.waitFor(() => expect(events).toHaveLength(1))
    expect(times[1]! - times[0]!).toBe(2000)
    expect(errors[0]).toBeInstanceOf(HttpError)
    expect((errors[0] as HttpError).status).toBe(503)
    expect(states.slice(0, 4)).toEqual(['connecting', 'reconnecting:2000', 'connecting', 'open'])
    sub.close()
  })

  it('closes with a typed error on 404 when it is the only transport and the endpoint never worked in this page', async () => {
    const missing = 'http://localhost/missing'
    server.use(http.get(missing, () => new HttpResponse('nope', { status: 404 })))
    const sub = subscribe(missing, { ...quick, transports: ['longpoll'] })
    const closed = new Promise<unknown>((resolve) => sub.on('state', (s) => s.state === 'closed' && resolve(s.error)))
    const error = (await closed) as HttpError
    expect(error).toBeInstanceOf(HttpError)
    expect(error.name).toBe('HttpError')
    expect(error.status).toBe(404)
    expect(error.transport).toBe('longpoll')
    expectSaid(error, 'http', /check url/)
  })

  it('calls the headers provider on every poll and retries a 401 once with fresh headers', async () => {
    const tokens: Array<string | null> = []
    let token = 0
    server.use(
      http.get(URL_, ({ request }) => {
        tokens.push(request.headers.get('authorization'))
        return request.headers.get('authorization') === 'Bearer 2' ? sse('data: ok\n\n') : new HttpResponse(null, { status: 401 })
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'], headers: async () => ({ authorization: `Bearer ${++token}` }) })
    const events = collect(sub)
    await until(() => events.length === 1)
    sub.close()
    expect(tokens.slice(0, 2)).toEqual(['Bearer 1', 'Bearer 2'])
  })

  it('closes with the 401 when the fresh token is refused too', async () => {
    server.use(http.get(URL_, () => new HttpResponse(null, { status: 401 })))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const error = await new Promise<unknown>((resolve) => sub.on('state', (s) => s.state === 'closed' && resolve(s.error)))
    expect((error as HttpError).status).toBe(401)
  })

  it('reports a wrong content type as a ProtocolError and keeps trying', async () => {
    let n = 0
    server.use(
      http.get(URL_, () => (++n === 1 ? HttpResponse.html('<h1>login</h1>') : sse('data: fine\n\n'))),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const errors: unknown[] = []
    sub.on('error', (e) => errors.push(e))
    const events = collect(sub)
    await until(() => events.length >= 1)
    sub.close()
    expect(errors[0]).toBeInstanceOf(ProtocolError)
    expectSaid(errors[0], 'html', /an HTML page came back where events were expected \(a login page or a proxy error page\?\)/)
  })
})

describe('poll bodies are bounded', () => {
  it('a JSON poll body that never ends is cut at maxEventSize: a ProtocolError, not a page that reads forever', async () => {
    const chunk = new TextEncoder().encode(`${JSON.stringify({ data: 'x'.repeat(80) })},`)
    server.use(
      http.get(URL_, () => {
        const body = new ReadableStream({
          start: (c) => c.enqueue(new TextEncoder().encode('[')),
          pull: (c) => c.enqueue(chunk),
        })
        return new HttpResponse(body, { headers: { 'content-type': 'application/json' } })
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['poll'], maxEventSize: 10_000 })
    const errors: Error[] = []
    sub.on('error', (e) => errors.push(e))
    await until(() => errors.length >= 1)
    sub.close()
    expect(errors[0]).toBeInstanceOf(ProtocolError)
    expectSaid(errors[0], 'big-body', 'poll: body over maxEventSize (10000) dropped')
    // (That the rest of the body is cancelled shows in Chromium: test/browser/hostile.test.ts.)
  })
})

describe('poll transport', () => {
  it('polls again at once after news, every interval after nothing new; sends If-None-Match, treats 304 as nothing new and honours retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const requests: Array<{ at: number; etag: string | null; last: string | null }> = []
    server.use(
      http.get(URL_, ({ request }) => {
        const url = new URL(request.url)
        requests.push({ at: Date.now(), etag: request.headers.get('if-none-match'), last: url.searchParams.get('lastEventId') })
        if (requests.length === 1) return sse('id: 1\ndata: a\n\n', { headers: { etag: '"1"' } })
        if (requests.length === 2) return new HttpResponse(null, { status: 304, headers: { etag: '"1"' } })
        if (requests.length === 3) return sse('retry: 500\nid: 2\ndata: b\n\n', { headers: { etag: '"2"' } })
        return new HttpResponse(null, { status: 304 })
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['poll'], pollInterval: 1000 })
    const events = collect(sub)
    await vi.advanceTimersByTimeAsync(0)
    await vi.waitFor(() => expect(requests).toHaveLength(2))
    await vi.advanceTimersByTimeAsync(1000)
    await vi.waitFor(() => expect(requests).toHaveLength(3))
    await vi.advanceTimersByTimeAsync(500)
    await vi.waitFor(() => expect(requests.length).toBeGreaterThanOrEqual(4))
    sub.close()
    expect(events.map((e) => e.data)).toEqual(['a', 'b'])
    expect(requests.slice(0, 4).map((r) => r.etag)).toEqual([null, '"1"', '"1"', '"2"'])
    expect(requests.slice(0, 4).map((r) => r.last)).toEqual([null, '1', '1', '2'])
    // After news at once (or after the server's retry), after nothing new the interval.
    expect(requests.slice(1, 4).map((r, i) => r.at - requests[i]!.at)).toEqual([0, 1000, 500])
  })
})

describe('eventsource transport (fetch streaming)', () => {
  it('sends Accept and Last-Event-ID on same-origin requests and resumes after the stream ends', async () => {
    const seen: Array<[string | null, string | null]> = []
    server.use(
      http.get(URL_, ({ request }) => {
        seen.push([request.headers.get('accept'), request.headers.get('last-event-id')])
        return seen.length === 1 ? sse('retry: 10\nid: 41\ndata: a\n\nid: 42\n\n') : openStream(['data: b\n\n'])
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['eventsource'], env: { random: () => 0, location: 'http://localhost/app' } })
    const events = collect(sub)
    await until(() => events.length === 2)
    sub.close()
    expect(seen).toEqual([
      ['text/event-stream', null],
      ['text/event-stream', '42'],
    ])
    // The id-only block moved the resume point; the next event carries it.
    expect(events.map((e) => [e.data, e.lastEventId])).toEqual([
      ['a', '41'],
      ['b', '42'],
    ])
  })

  it('sends the resume id as Last-Event-ID where it can go — across origins where the server allows it — and the URL as given, as the native EventSource does', async () => {
    const seen: Array<[string | null, string]> = []
    server.use(
      http.get('http://localhost/allowed', ({ request }) => {
        seen.push([request.headers.get('last-event-id'), request.url])
        return openStream(['data: x\n\n'])
      }),
    )
    const sub = subscribe('http://localhost/allowed', { ...quick, transports: ['eventsource'], lastEventId: '9', env: { location: 'http://other.test/' } })
    const events = collect(sub)
    await until(() => events.length === 1)
    sub.close()
    expect(seen[0]).toEqual(['9', 'http://localhost/allowed'])
  })

  it('across origins, a request that fails with Last-Event-ID (a preflight the server refuses) goes once more with the id in the query instead, and the origin is remembered', async () => {
    const seen: Array<[string | null, string | null]> = []
    server.use(
      http.get('http://refusing.test/events', ({ request }) => {
        seen.push([request.headers.get('last-event-id'), new URL(request.url).searchParams.get('lastEventId')])
        // What a browser makes of a preflight the server does not answer: a network error.
        if (request.headers.has('last-event-id')) return HttpResponse.error()
        return seen.length < 3 ? sse(`id: ${seen.length}\ndata: x\n\n`) : openStream([`id: ${seen.length}\ndata: x\n\n`])
      }),
    )
    const sub = subscribe('http://refusing.test/events', { ...quick, transports: ['eventsource'], eventsource: 'fetch', lastEventId: '9', env: { random: () => 0, location: 'http://page.test/' } })
    const events = collect(sub)
    await until(() => events.length === 2)
    sub.close()
    expect(seen).toEqual([
      ['9', null],
      [null, '9'],
      [null, '2'],
    ])
  })

  it('a server that routes on the exact URL answers the id in the query with a 404: asked once more, at once, for the URL as given, and so from then on', async () => {
    const seen: Array<[string | null, string]> = []
    server.use(
      http.get('http://exact.test/*', ({ request }) => {
        seen.push([request.headers.get('last-event-id'), request.url])
        if (request.headers.has('last-event-id')) return HttpResponse.error()
        if (request.url !== 'http://exact.test/events') return new HttpResponse('not found', { status: 404 })
        return sse(`id: ${seen.length}\ndata: x\n\n`)
      }),
    )
    const sub = subscribe('http://exact.test/events', { ...quick, transports: ['eventsource'], eventsource: 'fetch', lastEventId: '9', env: { random: () => 0, location: 'http://page.test/' } })
    const events = collect(sub)
    await until(() => events.length === 2)
    sub.close()
    expect(seen).toEqual([
      ['9', 'http://exact.test/events'],
      [null, 'http://exact.test/events?lastEventId=9'],
      [null, 'http://exact.test/events'],
      [null, 'http://exact.test/events'],
    ])
  })

  it('a query provider that closes the subscription while the request after that 404 is made: nothing more is asked, nothing thrown', async () => {
    const seen: string[] = []
    server.use(
      http.get('http://exact-closed.test/*', ({ request }) => {
        seen.push(request.url)
        if (request.headers.has('last-event-id')) return HttpResponse.error()
        return new HttpResponse('not found', { status: 404 })
      }),
    )
    let asked = 0
    let close = () => {}
    const sub = subscribe('http://exact-closed.test/events', {
      ...quick,
      transports: ['eventsource'],
      eventsource: 'fetch',
      lastEventId: '9',
      query: () => (++asked === 3 && close(), {}),
      env: { random: () => 0, location: 'http://page.test/' },
    })
    close = () => sub.close()
    await until(() => sub.state === 'closed')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(asked).toBe(3)
    expect(seen).toEqual(['http://exact-closed.test/events', 'http://exact-closed.test/events?lastEventId=9'])
  })

  it('stops on 204 No Content, as the SSE spec says', async () => {
    server.use(http.get(URL_, () => new HttpResponse(null, { status: 204 })))
    const sub = subscribe(URL_, { ...quick, transports: ['eventsource'] })
    const error = await new Promise<unknown>((resolve) => sub.on('state', (s) => s.state === 'closed' && resolve(s.error)))
    expect((error as HttpError).status).toBe(204)
  })
})

describe('websocket transport', () => {
  const link = ws.link('ws://localhost/events')

  it('parses SSE text frames, JSON frames and binary frames, and resumes with the last id', async () => {
    const urls: string[] = []
    let connection = 0
    server.use(
      link.addEventListener('connection', ({ client }) => {
        urls.push(client.url.toString())
        connection++
        if (connection === 1) {
          client.send('id: 1\ndata: text\n\n')
          client.send(JSON.stringify({ id: 2, event: 'tick', data: { n: 2 } }))
          client.send(new TextEncoder().encode('id: 3\ndata: bytes é\n\n'))
          client.send('id: 4\ndata: split')
          client.send(' across frames\n\n')
          setTimeout(() => client.close(1011, 'oops'), 5)
        } else client.send('id: 5\ndata: again\n\n')
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['websocket'] })
    const events = collect(sub, ['message', 'tick'])
    await until(() => events.length === 5)
    sub.close()
    expect(events.map((e) => [e.type, e.data, e.lastEventId])).toEqual([
      ['message', 'text', '1'],
      ['tick', '{"n":2}', '2'],
      ['message', 'bytes é', '3'],
      ['message', 'split across frames', '4'],
      ['message', 'again', '5'],
    ])
    expect(urls[0]).toBe('ws://localhost/events')
    expect(urls[1]).toBe('ws://localhost/events?lastEventId=4')
  })

  it('reports a malformed JSON frame and goes on, with frames: json', async () => {
    server.use(
      link.addEventListener('connection', ({ client }) => {
        client.send('{"id": 1, "data": ')
        client.send('{"id": 2, "data": "fine"}')
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['websocket'], frames: 'json' })
    const errors: unknown[] = []
    sub.on('error', (e) => errors.push(e))
    const events = collect(sub)
    await until(() => events.length === 1)
    sub.close()
    expect(errors[0]).toBeInstanceOf(ProtocolError)
    expect(events.map((e) => [e.data, e.lastEventId])).toEqual([['fine', '2']])
  })

  it('delivers a frame that only looks like JSON as one text message, by default', async () => {
    server.use(
      link.addEventListener('connection', ({ client }) => {
        client.send('{"id": 1, "data": ')
        client.send('id: 2\ndata: fine\n\n')
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['websocket'] })
    const events = collect(sub)
    await until(() => events.length === 2)
    sub.close()
    expect(events.map((e) => [e.data, e.id])).toEqual([
      ['{"id": 1, "data": ', undefined],
      ['fine', '2'],
    ])
  })
})

describe('delivery', () => {
  it('stops delivering the moment close() runs, even in the middle of a chunk', async () => {
    server.use(http.get(URL_, () => sse('data: 1\n\ndata: 2\n\ndata: 3\n\n')))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const got: string[] = []
    const other: string[] = []
    sub.on('message', (e) => {
      got.push(e.data)
      if (e.data === '2') sub.close()
    })
    sub.on('message', (e) => other.push(e.data))
    await until(() => sub.state === 'closed')
    await new Promise((r) => setTimeout(r, 20))
    expect(got).toEqual(['1', '2'])
    expect(other).toEqual(['1'])
  })

  it('keeps delivering to other listeners and later events when a listener throws', async () => {
    const reported: unknown[] = []
    const original = (globalThis as { reportError?: unknown }).reportError
    ;(globalThis as { reportError?: unknown }).reportError = (e: unknown) => reported.push(e)
    try {
      server.use(http.get(URL_, () => sse('data: 1\n\ndata: 2\n\n')))
      const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
      sub.on('message', () => {
        throw new Error('listener bug')
      })
      const events = collect(sub)
      await until(() => events.length >= 2)
      sub.close()
      expect(events.slice(0, 2).map((e) => e.data)).toEqual(['1', '2'])
      expect(reported.length).toBeGreaterThanOrEqual(2)
    } finally {
      ;(globalThis as { reportError?: unknown }).reportError = original
    }
  })

  it('where there is no reportError (Node), a listener that throws is written to console.error, not lost', async () => {
    vi.stubGlobal('reportError', undefined)
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      server.use(http.get(URL_, () => sse('data: 1\n\ndata: 2\n\n')))
      const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
      const bug = new Error('listener bug')
      sub.on('message', () => {
        throw bug
      })
      const events = collect(sub)
      await until(() => events.length >= 2)
      sub.close()
      expect(logged.mock.calls.filter(([e]) => e === bug).length).toBeGreaterThanOrEqual(2)
    } finally {
      logged.mockRestore()
      vi.unstubAllGlobals()
    }
  })

  it('decodes JSON and reports a decode failure as a DecodeError without stopping', async () => {
    server.use(http.get(URL_, () => sse('id: 1\ndata: {"a":1}\n\nid: 2\ndata: {oops\n\nid: 3\ndata: [2]\n\n')))
    const sub = subscribe<{ message: unknown }>(URL_, { ...quick, transports: ['longpoll'], decode: 'json' })
    const errors: unknown[] = []
    sub.on('error', (e) => errors.push(e))
    const events = collect(sub)
    await until(() => events.length >= 2)
    sub.close()
    expect(events.slice(0, 2).map((e) => e.data)).toEqual([{ a: 1 }, [2]])
    expect(errors[0]).toBeInstanceOf(DecodeError)
    expect((errors[0] as DecodeError).data).toBe('{oops')
    expect(sub.lastEventId).toBe('3')
  })

  it('delivers server events named like lifecycle events to message listeners', async () => {
    server.use(http.get(URL_, () => sse('event: error\ndata: from server\n\n')))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const events = collect(sub)
    await until(() => events.length >= 1)
    sub.close()
    expect(events[0]).toMatchObject({ type: 'error', data: 'from server' })
  })

  it('unbind is safe to call twice', async () => {
    server.use(http.get(URL_, () => sse('data: 1\n\n')))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const a: string[] = []
    const off = sub.on('message', (e) => a.push(e.data))
    off()
    off()
    const events = collect(sub)
    await until(() => events.length >= 1)
    sub.close()
    sub.close()
    expect(a).toEqual([])
  })

  it('iterates with for await and ends on close', async () => {
    server.use(http.get(URL_, () => sse('data: 1\n\ndata: 2\n\ndata: 3\n\n')))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const got: string[] = []
    for await (const event of sub) {
      got.push(event.data)
      if (got.length === 3) sub.close()
    }
    expect(got).toEqual(['1', '2', '3'])
  })

  it('ends a lagging iterator with an overflow error after the queued events', async () => {
    server.use(http.get(URL_, () => sse('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n')))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'], bufferSize: 2 })
    const iterator = sub[Symbol.asyncIterator]()
    await until(() => sub.lastEventId === '' && sub.state === 'open')
    await new Promise((r) => setTimeout(r, 20))
    const first = await iterator.next()
    const second = await iterator.next()
    await expect(iterator.next()).rejects.toMatchObject({ kind: 'overflow' })
    expect([first.value?.data, second.value?.data]).toEqual(['1', '2'])
    sub.close()
  })

  it('settles several pending next() calls, in the order they were made, then done for each after close', async () => {
    server.use(http.get(URL_, () => openStream(['data: 1\n\n', 'data: 2\n\n'])))
    const sub = subscribe(URL_, { ...quick, transports: ['eventsource'] })
    const iterator = sub[Symbol.asyncIterator]()
    const pending = [iterator.next(), iterator.next(), iterator.next()]
    const [first, second] = await Promise.all(pending.slice(0, 2))
    expect([first!.value?.data, second!.value?.data]).toEqual(['1', '2'])
    sub.close()
    expect(await pending[2]).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('closes when its AbortSignal aborts', async () => {
    server.use(http.get(URL_, () => new Promise(() => {})))
    const controller = new AbortController()
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'], signal: controller.signal })
    await until(() => sub.state === 'connecting')
    controller.abort()
    expect(sub.state).toBe('closed')
  })

  it('closes with an unsupported error when no transport can run', async () => {
    const sub = subscribe(URL_, { transports: ['websocket'], env: { WebSocket: undefined } })
    const error = await new Promise<unknown>((resolve) => sub.on('state', (s) => s.state === 'closed' && resolve(s.error)))
    expect(error).toMatchObject({ kind: 'unsupported' })
  })
})

describe('createSubscribe (subwire/core)', () => {
  it('uses only the transports it was given, in the usual order, and skips names it lacks', async () => {
    const { createSubscribe, longpoll, poll } = await import('../../src/core')
    const seen: string[] = []
    server.use(
      http.get(URL_, ({ request }) => {
        seen.push(new URL(request.url).searchParams.get('transport')!)
        return sse('id: 1\ndata: hi\n\n')
      }),
    )
    // A WebSocket constructor is present, but no websocket transport was given: it is never used.
    const WebSocket = vi.fn()
    // Keys in the "wrong" order: longpoll still comes first, as in subscribe().
    const only = createSubscribe({ poll, longpoll })
    const storage = new Map<string, string>()
    const env = { ...quick.env, WebSocket: WebSocket as never, storage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) } }
    const sub = only(URL_, { ...quick, env })
    const events = collect(sub)
    await until(() => events.length >= 1)
    expect(sub.transport).toBe('longpoll')
    sub.close()
    expect(WebSocket).not.toHaveBeenCalled()

    // Asked for websocket first by name: skipped, as a transport this browser lacks would be.
    const named = only(URL_, { ...quick, env, transports: ['websocket', 'poll'] })
    const more = collect(named)
    await until(() => more.length >= 1)
    expect(named.transport).toBe('poll')
    named.close()
    expect([...new Set(seen)]).toEqual(['longpoll', 'poll'])
  })

  it('closes with an unsupported error when none of the asked transports was given', async () => {
    const { createSubscribe, poll } = await import('../../src/core')
    const sub = createSubscribe({ poll })(URL_, { transports: ['websocket'] })
    const kinds: Array<string | undefined> = []
    sub.on('state', (change) => kinds.push(change.error?.kind))
    await until(() => sub.state === 'closed')
    expect(kinds).toEqual(['unsupported'])
  })
})

describe('polls against servers that answer at once', () => {
  it('a long poll answered at once with the event it resumed from, again and again, gets the floor too', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    let n = 0
    // A server that ignores the resume id: every answer is event 1, at once.
    server.use(
      http.get(URL_, () => {
        n++
        return sse('id: 1\ndata: same\n\n')
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const errors: string[] = []
    sub.on('error', (e) => errors.push(line(e)))
    await vi.advanceTimersByTimeAsync(10000)
    sub.close()
    expect(n).toBeLessThanOrEqual(10)
    expect(errors.some((m) => saying('not-long-poll', /answered at once with nothing new 5 times in a row/).test(m))).toBe(true)
  })

  it('a long-poll server that starts every answer with the event it was asked to resume after does not double it', async () => {
    let n = 0
    server.use(
      http.get(URL_, ({ request }) => {
        const from = Number(new URL(request.url).searchParams.get('lastEventId') ?? 0)
        n++
        // ">=" instead of ">": the resume event again, then one new one.
        return n > 4 ? new Promise<Response>(() => {}) : sse(`${from ? `id: ${from}\ndata: ${from}\n\n` : ''}id: ${from + 1}\ndata: ${from + 1}\n\n`)
      }),
    )
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const events = collect(sub)
    await until(() => events.length >= 4)
    sub.close()
    expect(events.map((e) => e.data)).toEqual(['1', '2', '3', '4'])
  })

  it('a long poll answered at once with new events goes on at once (a busy channel)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    let n = 0
    server.use(http.get(URL_, () => sse(`id: ${++n}\ndata: ${n}\n\n`)))
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'] })
    const events = collect(sub)
    await vi.advanceTimersByTimeAsync(100)
    sub.close()
    expect(events.length).toBeGreaterThan(20)
  })
})

describe('headers and query providers', () => {
  it('are told the transport and whether it can send headers: a token goes in the URL only where no header can', async () => {
    const link = ws.link('ws://localhost/events')
    const urls: string[] = []
    const seen: Array<{ url: string; authorization: string | null }> = []
    server.use(
      link.addEventListener('connection', ({ client }) => {
        urls.push(client.url.href)
        client.close(1011, 'no')
      }),
      http.get(URL_, ({ request }) => {
        seen.push({ url: request.url, authorization: request.headers.get('authorization') })
        return sse('data: ok\n\n')
      }),
    )
    const infos: unknown[] = []
    const sub = subscribe(URL_, {
      ...quick,
      transports: ['websocket', 'longpoll'],
      rememberFor: 0,
      headers: () => ({ authorization: 'Bearer t' }),
      query: (info) => (infos.push(info), { token: info.canSendHeaders ? undefined : 't' }),
    })
    const events = collect(sub)
    await until(() => events.length >= 1)
    sub.close()
    expect(new URL(urls[0]!).searchParams.get('token')).toBe('t')
    expect(new URL(seen[0]!.url).searchParams.has('token')).toBe(false)
    expect(seen[0]!.authorization).toBe('Bearer t')
    expect(infos.slice(0, 2)).toEqual([
      { transport: 'websocket', canSendHeaders: false },
      { transport: 'longpoll', canSendHeaders: true },
    ])
  })
})
