// Servers people already run: WebSocket frame rules, `parse` for a plain JSON API, the handshake,
// status overrides and the nchan preset.
import { describe, expect, it, vi } from 'vitest'
import { http, HttpResponse, ws } from 'msw'
import { subscribe, type SubscribeOptions, type SubwireEvent } from '../../src/index'
import { nchan, nchanParse } from '../../src/presets'
import { URL_, useNetwork } from '../fixtures/network'
import { line, saying } from '../fixtures/said'

const server = useNetwork()
const link = ws.link('ws://localhost/events')
const quick = { retry: { initialDelay: 10, maxDelay: 20 }, env: { random: () => 0 }, share: false } satisfies SubscribeOptions
const until = (check: () => boolean, ms = 2000) => vi.waitFor(() => expect(check()).toBe(true), { timeout: ms, interval: 5 })

function socketSends(frames: string[]) {
  const seen: { url?: string; protocols?: string; received: string[] } = { received: [] }
  server.use(
    link.addEventListener('connection', ({ client }) => {
      seen.url = client.url.href
      client.addEventListener('message', (e) => seen.received.push(String(e.data)))
      for (const frame of frames) client.send(frame)
    }),
  )
  return seen
}

async function eventsFrom(frames: string[], options: SubscribeOptions = {}, count = frames.length) {
  socketSends(frames)
  const events: SubwireEvent<unknown>[] = []
  const errors: string[] = []
  const sub = subscribe(URL_, { ...quick, transports: ['websocket'], onMessage: (e) => events.push(e), onError: (e) => errors.push(line(e)), ...options })
  await until(() => events.length + errors.length >= count)
  sub.close()
  return { events: events.map((e) => [e.type, e.data, e.id, e.lastEventId]), errors }
}

describe('WebSocket frames', () => {
  const plain = ['{"price":1}', 'hello', '[1,2]', '{"id":"x","name":"n"}', '"str"', '42']

  it("'auto': a plain server's JSON and text frames are one message each", async () => {
    const { events, errors } = await eventsFrom(plain)
    expect(events).toEqual(plain.map((frame) => ['message', frame, undefined, '']))
    expect(errors).toEqual([])
  })

  it("'auto': SSE field syntax (also across frames) and {id, event, data, retry} envelopes are read as subwire's framing", async () => {
    const { events } = await eventsFrom(['id: 1\nevent: tick\ndata: a\n\n', 'data: b', 'c\n\n', '{"id":2,"event":"tick","data":{"n":2}}', '[{"id":3,"data":"d"},{"data":"e"}]', '{"id":4}', ': ping\n\n', '{"event":"ping"}', 'after'], {}, 6)
    expect(events).toEqual([
      ['tick', 'a', '1', '1'],
      ['message', 'bc', undefined, '1'],
      ['tick', '{"n":2}', '2', '2'],
      ['message', 'd', '3', '3'],
      ['message', 'e', undefined, '3'],
      ['message', 'after', undefined, '4'],
    ])
  })

  it('a listener that closes the subscription between the items parse gave one frame: nothing after it reaches the page, not an item, not the report of one that is not an event', async () => {
    socketSends(['one frame'])
    const events: string[] = []
    const errors: string[] = []
    const sub = subscribe(URL_, {
      ...quick,
      transports: ['websocket'],
      parse: () => [{ data: 'a' }, { data: 'b' }, null] as never,
      onError: (e) => errors.push(line(e)),
    })
    sub.on('message', (e) => {
      events.push(e.data)
      sub.close()
    })
    await until(() => sub.state === 'closed')
    await new Promise((r) => setTimeout(r, 50))
    expect(events).toEqual(['a'])
    expect(errors).toEqual([])
  })

  it("'text': every frame is one message, SSE-looking or not", async () => {
    const { events } = await eventsFrom(['data: x\n\n', '{"data":"y"}'], { frames: 'text' })
    expect(events.map((e) => e[1])).toEqual(['data: x\n\n', '{"data":"y"}'])
  })

  it("'sse': every frame is part of one SSE stream", async () => {
    // A frame of SSE syntax that holds no field subwire knows yields nothing: reported.
    const { events, errors } = await eventsFrom(['data: a\n\n', '{"data":"not json here"}\n\n', 'data: b\n\n'], { frames: 'sse' }, 3)
    expect(events.map((e) => e[1])).toEqual(['a', 'b'])
    expect(errors[0]).toMatch(saying('empty-frame', /frame dropped: it holds no event, id or heartbeat/))
  })

  it("'json': envelopes are events, other JSON a message, text that is not JSON a ProtocolError", async () => {
    const { events, errors } = await eventsFrom(['{"id":1,"data":"a"}', '{"price":2}', 'hello'], { frames: 'json' })
    expect(events).toEqual([
      ['message', 'a', '1', '1'],
      ['message', '{"price":2}', undefined, '1'],
    ])
    expect(errors[0]).toMatch(saying('not-json', /websocket: not JSON \(SyntaxError/))
  })

  it('parse: a plain server that marks ids in its own field resumes like subwire framing', async () => {
    const seen = socketSends(['{"seq":7,"kind":"price","body":{"p":1}}', '{"seq":8,"kind":"news","body":"n"}'])
    const parse = (text: string) => {
      const m = JSON.parse(text) as { seq: number; kind: string; body: unknown }
      return { id: m.seq, type: m.kind, data: m.body }
    }
    const events: SubwireEvent<unknown>[] = []
    const sub = subscribe(URL_, { ...quick, transports: ['websocket'], parse, onMessage: (e) => events.push(e) })
    await until(() => events.length === 2)
    sub.close()
    // Data that is not a string arrives as its JSON text (decode: 'json' gives the object back).
    expect(events.map((e) => [e.type, e.data, e.id])).toEqual([
      ['price', '{"p":1}', '7'],
      ['news', 'n', '8'],
    ])
    expect(sub.lastEventId).toBe('8')
    // The URL as given: a WebSocket says what it is by its upgrade.
    expect(seen.url).toBe('ws://localhost/events')
  })

  it('handshake: messages sent after every open, with the resume id', async () => {
    let connections = 0
    const received: string[][] = []
    server.use(
      link.addEventListener('connection', ({ client }) => {
        const mine: string[] = []
        received.push(mine)
        client.addEventListener('message', (e) => mine.push(String(e.data)))
        if (++connections === 1) {
          client.send('{"id":"5","data":"x"}')
          setTimeout(() => client.close(1011, 'bye'), 20)
        }
      }),
    )
    const sub = subscribe(URL_, {
      ...quick,
      transports: ['websocket'],
      handshake: ({ lastEventId }) => [JSON.stringify({ type: 'subscribe', channel: 'prices', from: lastEventId })],
    })
    await until(() => received.length === 2 && received[1]!.length === 1)
    sub.close()
    expect(received.map((r) => r.map((m) => JSON.parse(m)))).toEqual([
      [{ type: 'subscribe', channel: 'prices', from: '' }],
      [{ type: 'subscribe', channel: 'prices', from: '5' }],
    ])
  })
})

describe('polling a plain JSON API', () => {
  it('parse reads an array of arbitrary objects, with the cursor in a header; it goes back as If-None-Match and as the resume id', async () => {
    const requests: Array<{ since: string | null; match: string | null }> = []
    server.use(
      http.get(URL_, ({ request }) => {
        const url = new URL(request.url)
        requests.push({ since: url.searchParams.get('since'), match: request.headers.get('if-none-match') })
        if (requests.length === 1) return HttpResponse.json([{ t: 'a' }, { t: 'b' }], { headers: { etag: '"c2"' } })
        if (requests.length === 2) return HttpResponse.json([{ t: 'c' }], { headers: { etag: '"c3"' } })
        return new HttpResponse(null, { status: 304, headers: { etag: '"c3"' } })
      }),
    )
    const events: SubwireEvent<unknown>[] = []
    const sub = subscribe(URL_, {
      ...quick,
      transports: ['poll'],
      pollInterval: 10,
      lastEventIdParam: 'since',
      decode: 'json',
      onMessage: (e) => events.push(e),
      parse: (text, { headers }) => [...(JSON.parse(text) as unknown[]).map((item) => ({ data: item })), { id: headers!.get('etag')! }],
    })
    await until(() => events.length === 3 && requests.length >= 3)
    sub.close()
    expect(events.map((e) => e.data)).toEqual([{ t: 'a' }, { t: 'b' }, { t: 'c' }])
    expect(requests.slice(0, 3)).toEqual([
      { since: null, match: null },
      { since: '"c2"', match: '"c2"' },
      { since: '"c3"', match: '"c3"' },
    ])
  })

  it('parse giving a poll body items that are not events: those are skipped, the rest delivered, the body reported once as parse-failed (not a network error), and polling goes on', async () => {
    let n = 0
    server.use(http.get(URL_, () => (++n <= 2 ? HttpResponse.json([n]) : new HttpResponse(null, { status: 204 }))))
    const events: SubwireEvent<unknown>[] = []
    const errors: string[] = []
    const sub = subscribe(URL_, {
      ...quick,
      transports: ['poll'],
      pollInterval: 10,
      onMessage: (e) => events.push(e),
      onError: (e) => errors.push(line(e)),
      parse: (text) => [null, { data: `item ${text}`, id: text }] as never,
    })
    await until(() => events.length === 2 && n >= 3)
    sub.close()
    expect(events.map((e) => e.data)).toEqual(['item [1]', 'item [2]'])
    expect(errors).toHaveLength(2)
    for (const error of errors) expect(error).toMatch(saying('parse-failed', /^parse-failed: poll: parse threw, or gave what is not an event: null/))
    expect(sub.state).toBe('closed')
  })

  it('parse can take the cursor from a field of the body', async () => {
    const since: Array<string | null> = []
    server.use(
      http.get(URL_, ({ request }) => {
        since.push(new URL(request.url).searchParams.get('after'))
        return since.length === 1 ? HttpResponse.json({ items: ['x', 'y'], cursor: 'k9' }) : new HttpResponse(null, { status: 204 })
      }),
    )
    const events: SubwireEvent<unknown>[] = []
    const sub = subscribe(URL_, {
      ...quick,
      transports: ['poll'],
      pollInterval: 10,
      lastEventIdParam: 'after',
      onMessage: (e) => events.push(e),
      parse: (text) => {
        const body = JSON.parse(text) as { items: string[]; cursor: string }
        return body.items.map((data, i) => (i === body.items.length - 1 ? { data, id: body.cursor } : { data }))
      },
    })
    await until(() => since.length >= 2)
    sub.close()
    expect(events.map((e) => [e.data, e.lastEventId])).toEqual([
      ['x', ''],
      ['y', 'k9'],
    ])
    expect(since[1]).toBe('k9')
  })

  it("statuses: { 408: 'empty' } makes a long-poll timeout an empty answer, not an error", async () => {
    let n = 0
    server.use(
      http.get(URL_, async () => {
        n++
        if (n === 1) {
          await new Promise((r) => setTimeout(r, 1100))
          return new HttpResponse(null, { status: 408 })
        }
        return n === 2 ? new HttpResponse('id: 1\ndata: after\n\n', { headers: { 'content-type': 'text/event-stream' } }) : new Promise<Response>(() => {})
      }),
    )
    const errors: string[] = []
    const events: string[] = []
    const sub = subscribe(URL_, { ...quick, transports: ['longpoll'], statuses: { 408: 'empty' }, onError: (e) => errors.push(line(e)), onMessage: (e) => events.push(e.data) })
    await until(() => events.length === 1, 4000)
    sub.close()
    expect(errors).toEqual([])
  })
})

describe('the nchan preset', () => {
  it('reads ws+meta.nchan frames and poll answers with their ids', () => {
    expect(nchanParse('id: 1733:4\ncontent-type: text/plain\n\nhello\n\nworld', { transport: 'websocket' })).toEqual({ id: '1733:4', data: 'hello\n\nworld' })
    expect(nchanParse('raw', { transport: 'websocket' })).toEqual({ data: 'raw' })
    const headers = new Headers({ 'last-modified': 'Tue, 01 Dec 2026 17:12:11 GMT', etag: '1' })
    expect(nchanParse('{"p":1}', { transport: 'longpoll', status: 200, headers })).toEqual({ data: '{"p":1}', id: `${Date.parse('Tue, 01 Dec 2026 17:12:11 GMT') / 1000}:1` })
    expect(nchanParse('x', { transport: 'poll', status: 200, headers: new Headers() })).toEqual({ data: 'x', id: undefined })
  })

  it('is options: yours win, statuses merge', () => {
    const options = nchan({ decode: 'json', statuses: { 500: 'fatal' }, lastEventIdParam: 'x' })
    expect(options).toMatchObject({ protocols: 'ws+meta.nchan', decode: 'json', lastEventIdParam: 'x', statuses: { 408: 'empty', 410: 'retry', 500: 'fatal' } })
    expect(nchan().lastEventIdParam).toBe('last_event_id')
  })
})
