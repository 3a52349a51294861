// Streams that are requests (an LLM completion, GraphQL over SSE): a method and a body sent on
// every attempt, one answer read to its end and never asked for again, a drop resumed only by id.
import { describe, expect, it, vi } from 'vitest'
import { http, HttpResponse } from 'msw'
import { subscribe, type StateChange, type SubscribeOptions, type SubwireError } from '../../src/index'
import { URL_, useNetwork } from '../fixtures/network'
import { DEV } from '../fixtures/said'

const server = useNetwork()

const quick = { retry: { initialDelay: 10, maxDelay: 20 }, env: { random: () => 0 } } satisfies SubscribeOptions

/** An answer of `tokens` with ids from `from` on; `cut`: the connection breaks after that many. */
function answer(tokens: string[], { from = 1, ids = true, cut }: { from?: number; ids?: boolean; cut?: number } = {}) {
  const encoder = new TextEncoder()
  return new HttpResponse(
    new ReadableStream({
      start(controller) {
        tokens.forEach((token, i) => {
          if (cut !== undefined && i >= cut) return
          controller.enqueue(encoder.encode(`${ids ? `id: ${from + i}\n` : ''}data: ${token}\n\n`))
        })
        // After the chunks were read: an errored stream drops what it still queues.
        setTimeout(() => (cut !== undefined ? controller.error(new TypeError('network error')) : controller.close()), 10)
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )
}

interface Seen {
  method: string
  body: string
  contentType: string | null
  lastEventId: string | null
}

function watch(sub: { on: ReturnType<typeof subscribe>['on'] }) {
  const data: string[] = []
  const states: StateChange[] = []
  const errors: SubwireError[] = []
  sub.on('message', (e) => data.push(e.data as string))
  sub.on('state', (s) => states.push(s))
  sub.on('error', (e) => errors.push(e))
  return { data, states, errors }
}

const TOKENS = ['The', ' answer', ' is', ' 42.']

describe('a POST answer (oneShot by default)', () => {
  it('sends the method and body once, reads the answer to its end, and closes with reason end: no second request', async () => {
    const seen: Seen[] = []
    server.use(
      http.post(URL_, async ({ request }) => {
        seen.push({ method: request.method, body: await request.text(), contentType: request.headers.get('content-type'), lastEventId: request.headers.get('last-event-id') })
        return answer(TOKENS)
      }),
    )
    const sub = subscribe(URL_, { ...quick, body: JSON.stringify({ prompt: 'why' }), headers: { 'content-type': 'application/json' } })
    const { data, states, errors } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(data).toEqual(TOKENS)
    expect(states.at(-1)).toMatchObject({ state: 'closed', reason: 'end', error: undefined })
    expect(errors).toEqual([])
    expect(seen).toEqual([{ method: 'POST', body: '{"prompt":"why"}', contentType: 'application/json', lastEventId: null }])
    // Nothing asks again.
    await new Promise((r) => setTimeout(r, 100))
    expect(seen).toHaveLength(1)
  })

  it('reads through the async iterator, which is done at the end', async () => {
    server.use(http.post(URL_, () => answer(TOKENS)))
    const read: string[] = []
    for await (const event of subscribe(URL_, { ...quick, method: 'POST', body: new URLSearchParams({ q: 'why' }) })) read.push(event.data as string)
    expect(read).toEqual(TOKENS)
  })

  it('a drop before the end of an answer with ids resumes from the last id, sending the body again', async () => {
    const seen: Seen[] = []
    server.use(
      http.post(URL_, async ({ request }) => {
        const lastEventId = request.headers.get('last-event-id')
        seen.push({ method: request.method, body: await request.text(), contentType: null, lastEventId })
        const from = Number(lastEventId ?? 0)
        return answer(TOKENS.slice(from), seen.length === 1 ? { from: from + 1, cut: 2 } : { from: from + 1 })
      }),
    )
    const sub = subscribe(URL_, { ...quick, body: () => 'prompt' })
    const { data, states } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(data).toEqual(TOKENS)
    expect(states.at(-1)).toMatchObject({ reason: 'end' })
    expect(seen.map((s) => [s.body, s.lastEventId])).toEqual([
      ['prompt', null],
      ['prompt', '2'],
    ])
  })

  it('a drop before the end of an answer without ids ends with a cut-off error: nothing asked again, what arrived kept', async () => {
    let requests = 0
    server.use(http.post(URL_, () => (requests++, answer(TOKENS, { ids: false, cut: 2 }))))
    const sub = subscribe(URL_, { ...quick, body: 'prompt' })
    const { data, states, errors } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(data).toEqual(TOKENS.slice(0, 2))
    expect(errors.map((e) => e.code)).toEqual(['cut-off'])
    expect(states.at(-1)).toMatchObject({ state: 'closed', reason: 'error', error: { code: 'cut-off' } })
    await new Promise((r) => setTimeout(r, 100))
    expect(requests).toBe(1)
  })

  it('the iterator throws the cut-off error after the events that arrived', async () => {
    server.use(http.post(URL_, () => answer(TOKENS, { ids: false, cut: 1 })))
    const read: string[] = []
    await expect(
      (async () => {
        for await (const event of subscribe(URL_, { ...quick, body: 'prompt' })) read.push(event.data as string)
      })(),
    ).rejects.toMatchObject({ code: 'cut-off' })
    expect(read).toEqual(['The'])
  })

  it('an error answer before anything began is retried with backoff, as any request', async () => {
    let requests = 0
    server.use(http.post(URL_, () => (++requests === 1 ? new HttpResponse(null, { status: 503 }) : answer(TOKENS))))
    const sub = subscribe(URL_, { ...quick, body: 'prompt' })
    const { data } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(data).toEqual(TOKENS)
    expect(requests).toBe(2)
  })

  it.each([
    ['headers', Object.defineProperty({}, 'x-trace', { enumerable: true, get: () => { throw new Error('no value') } })],
    ['query', { trace: { toString: () => { throw new Error('no text') } } }],
  ])('a %s function whose value cannot be read as text is a provider error (retried on the same transport), not a network error', async (which, value) => {
    let requests = 0
    server.use(http.get(URL_, () => (requests++, new HttpResponse('data: x\n\n', { headers: { 'content-type': 'text/event-stream' } }))))
    let calls = 0
    const sub = subscribe(URL_, { ...quick, transports: ['eventsource'], [which]: () => (++calls === 1 ? value : {}) })
    const { errors } = watch(sub)
    await vi.waitFor(() => expect(requests).toBeGreaterThan(0))
    sub.close()
    expect(errors.map((e) => [e.kind, e.transport])).toEqual([['provider', 'eventsource']])
  })

  it('a body function that fails is a provider error, retried like any provider; the next attempt sends its body', async () => {
    const bodies: string[] = []
    server.use(http.post(URL_, async ({ request }) => (bodies.push(await request.text()), answer(TOKENS))))
    let calls = 0
    const sub = subscribe(URL_, {
      ...quick,
      body: () => {
        if (++calls === 1) throw new Error('token service down')
        return 'prompt'
      },
    })
    const { data, errors } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(errors.map((e) => [e.kind, e.retryable])).toEqual([['provider', true]])
    expect(bodies).toEqual(['prompt'])
    expect(data).toEqual(TOKENS)
  })

  it('a slow first token is no reason to send the request a second time beside it (no race, no probe)', async () => {
    let requests = 0
    server.use(
      http.post(URL_, async () => {
        requests++
        await new Promise((r) => setTimeout(r, 2500))
        return answer(TOKENS)
      }),
    )
    const sub = subscribe(URL_, { ...quick, body: 'prompt' })
    await vi.waitFor(() => expect(sub.state).toBe('closed'), { timeout: 5000 })
    expect(requests).toBe(1)
  }, 10_000)

  it('over long polling: the first answer with events is the whole answer', async () => {
    let requests = 0
    server.use(http.post(URL_, () => (requests++, HttpResponse.json([{ id: '1', data: 'whole' }]))))
    const sub = subscribe(URL_, { ...quick, body: 'prompt', transports: ['longpoll'] })
    const { data, states } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(data).toEqual(['whole'])
    expect(states.at(-1)).toMatchObject({ reason: 'end' })
    expect(requests).toBe(1)
  })

  it('oneShot: false keeps a POST subscription live: a clean end reconnects', async () => {
    let requests = 0
    server.use(http.post(URL_, () => answer([`m${++requests}`], { from: requests })))
    const sub = subscribe(URL_, { ...quick, body: 'channel=prices', oneShot: false, transports: ['eventsource'] })
    const { data } = watch(sub)
    await vi.waitFor(() => expect(data.length).toBeGreaterThanOrEqual(2))
    expect(sub.state).not.toBe('closed')
    sub.close()
  })

  it('a GET stream marked oneShot ends at the end of its answer too', async () => {
    server.use(http.get(URL_, () => answer(TOKENS)))
    const sub = subscribe(URL_, { ...quick, oneShot: true, transports: ['eventsource'] })
    const { data, states } = watch(sub)
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(data).toEqual(TOKENS)
    expect(states.at(-1)).toMatchObject({ reason: 'end' })
  })
})

describe('which transports can send a request', () => {
  it('leaves out WebSocket (no handshake to carry it) and keeps the fetch transports', async () => {
    const sockets: string[] = []
    class Socket {
      constructor(url: string) {
        sockets.push(url)
      }
    }
    server.use(http.post(URL_, () => answer(TOKENS)))
    const sub = subscribe(URL_, { ...quick, body: 'prompt', env: { ...quick.env, WebSocket: Socket as unknown as typeof WebSocket } })
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(sockets).toEqual([])
  })

  it('says so, as a config error, when none is left (the native EventSource cannot send a body)', () => {
    const env = { EventSource: class {} as unknown as typeof EventSource, WebSocket: class {} as unknown as typeof WebSocket }
    expect(() => subscribe(URL_, { body: 'prompt', transports: ['eventsource'], eventsource: 'native', env })).toThrow(expect.objectContaining({ kind: 'config' }))
    expect(() => subscribe(URL_, { body: 'prompt', transports: ['websocket'], env })).toThrow(expect.objectContaining({ kind: 'config' }))
    if (DEV) expect(() => subscribe(URL_, { body: 'prompt', transports: ['websocket'], env })).toThrow(/POST request cannot go over websocket/)
  })

  it('a WebSocket whose handshake carries the request is kept', async () => {
    const sent: string[] = []
    class Socket {
      readyState = 0
      onopen?: (event: Event) => void
      constructor() {
        setTimeout(() => ((this.readyState = 1), this.onopen?.(new Event('open'))), 0)
      }
      send(text: string) {
        sent.push(text)
      }
      close() {}
      addEventListener(type: string, fn: () => void) {
        if (type === 'open') this.onopen = fn
      }
      removeEventListener() {}
    }
    const sub = subscribe(URL_, { ...quick, method: 'POST', transports: ['websocket'], handshake: () => '{"prompt":"why"}', env: { ...quick.env, WebSocket: Socket as unknown as typeof WebSocket } })
    await vi.waitFor(() => expect(sent).toEqual(['{"prompt":"why"}']))
    sub.close()
  })
})
