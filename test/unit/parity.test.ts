// Never worse than the browser's own EventSource on an ordinary server: what a resumed connection
// replays is not delivered twice, a restart is never fatal, the native object keeps its own
// reconnects (which carry Last-Event-ID), a greeting is not a cadence, long polls follow `retry`,
// and nothing reconnects after the last subscription left.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { delay, http, HttpResponse } from 'msw'
import { createSubscribe, eventsource, longpoll } from '../../src/core'
import { ConnectionError, HttpError, subscribe, type ResetInfo, type SubwireError } from '../../src/index'
import { tick, URL_, world, type World } from '../fixtures/fake'
import { useNetwork } from '../fixtures/network'
import { DEV, expectSaid } from '../fixtures/said'
import type { EventSourceMessage } from '../../src/parser'

const server = useNetwork()
let w: World

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  w = world()
})

const message = (k: number, data = `e${k}`) => ({ type: 'message', data, id: String(k), lastEventId: String(k) })

describe('replays after a reconnect', () => {
  /** A subscription that received e1…e`delivered` and was dropped; it reconnected, resuming from the last. */
  async function resumed(delivered: number) {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const data: string[] = []
    const resets: ResetInfo[] = []
    sub.on('message', (e) => data.push(e.data))
    sub.on('reset', (r) => resets.push(r))
    await tick()
    w.last().sink.open()
    for (let k = 1; k <= delivered; k++) w.last().sink.event(message(k))
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(1000)
    expect(w.last().from).toBe(String(delivered))
    return { sub, data, resets }
  }

  it('a server that sends again what was delivered (it could not read the resume point) has it dropped, and the resume point stays', async () => {
    const { sub, data, resets } = await resumed(5)
    // The whole log again, then what is new.
    for (let k = 1; k <= 3; k++) {
      w.last().sink.event(message(k))
      expect(sub.lastEventId).toBe('5')
    }
    for (let k = 4; k <= 7; k++) w.last().sink.event(message(k))
    expect(data).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'])
    expect(resets).toEqual([])
    sub.close()
  })

  it('a server that, reconnect after reconnect, sends only what was delivered is told once (stale): events in between may be lost; nothing is delivered twice', async () => {
    const { sub, data, resets } = await resumed(3)
    const errors: SubwireError[] = []
    sub.on('error', (e) => errors.push(e))
    for (let round = 0; round < 3; round++) {
      for (let k = 1; k <= 3; k++) w.last().sink.event(message(k))
      w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
      await tick(60000)
      expect(w.last().from).toBe('3')
    }
    expect(data).toEqual(['e1', 'e2', 'e3'])
    expect(resets).toEqual([])
    const told = errors.filter((e) => e.code === 'stale')
    expect(told).toHaveLength(1)
    expectSaid(told[0], 'stale', /did not resume from the last event id.*\?lastEventId=/)
    expect(told[0]!.kind).toBe('protocol')
    sub.close()
  })

  it('a reconnect that sends what was delivered and then something new is not stale', async () => {
    const { sub } = await resumed(3)
    const errors: SubwireError[] = []
    sub.on('error', (e) => errors.push(e))
    for (const k of [2, 3, 4]) w.last().sink.event(message(k))
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(60000)
    expect(errors.filter((e) => e.code === 'stale')).toEqual([])
    sub.close()
  })

  it('the same ids with other data after a reconnect are new events (the server started its ids again), with one reset', async () => {
    const { sub, data, resets } = await resumed(3)
    for (let k = 1; k <= 3; k++) w.last().sink.event(message(k, `after restart ${k}`))
    expect(data).toEqual(['e1', 'e2', 'e3', 'after restart 1', 'after restart 2', 'after restart 3'])
    expect(resets).toEqual([{ transport: 'websocket', lastEventId: '3' }])
    sub.close()
  })

  it('a greeting without an id first on each connection (event: hello) does not end the check: the whole log sent after it is still dropped', async () => {
    const { sub, data, resets } = await resumed(5)
    const hellos: string[] = []
    sub.on('hello', (e) => hellos.push(e.data))
    w.last().sink.event({ type: 'hello', data: 'connected', id: undefined, lastEventId: '5' })
    for (let k = 1; k <= 7; k++) w.last().sink.event(message(k))
    expect(data).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'])
    expect(hellos).toEqual(['connected'])
    expect(resets).toEqual([])
    // A message without an id in the middle of the replay does not end it either.
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(1000)
    w.last().sink.open()
    const notes: string[] = []
    sub.on('message', (e) => e.id === undefined && notes.push(e.lastEventId))
    w.last().sink.event(message(6))
    // (The stream's own last id is 6 here: the replay it sent moved it. The resume point stays 7.)
    w.last().sink.event({ type: 'message', data: 'note', id: undefined, lastEventId: '6' })
    expect(sub.lastEventId).toBe('7')
    expect(notes).toEqual(['7'])
    for (let k = 7; k <= 8; k++) w.last().sink.event(message(k))
    expect(data).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'note', 'e8'])
    expect(sub.lastEventId).toBe('8')
    sub.close()
  })

  /** A server whose every event has the same id (it names the stream, not a place in it) and that replays nothing. */
  const live = (data: string) => ({ type: 'message', data, id: 'live', lastEventId: 'live' })

  /** `before` over one connection, a drop, then `after` over the next: the data delivered, and where the next resumed from. */
  async function acrossReconnect(before: EventSourceMessage[], after: EventSourceMessage[]) {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const data: string[] = []
    sub.on('message', (e) => data.push(e.data))
    await tick()
    w.last().sink.open()
    for (const m of before) w.last().sink.event(m)
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(1000)
    const { from } = w.last()
    w.last().sink.open()
    for (const m of after) w.last().sink.event(m)
    sub.close()
    return { data, from }
  }

  it('ids that are not places (the same id on every event) lose nothing after a reconnect: a replay is what was delivered, in the order delivered', async () => {
    const { data, from } = await acrossReconnect(['e1', 'e2', 'e3'].map(live), ['e4', 'e5', 'e6'].map(live))
    expect(from).toBe('live')
    expect(data).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
  })

  it('the same event again and again (same id, same data) after a reconnect: at most the first is taken for a replay', async () => {
    const { data } = await acrossReconnect(Array(3).fill(live('ping')), Array(4).fill(live('ping')))
    expect(data).toHaveLength(3 + 3)
  })

  it('resuming from an id given in the options (an earlier page): the event with that id first is taken for the one asked after, once', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], lastEventId: 'live' }))
    const data: string[] = []
    sub.on('message', (e) => data.push(e.data))
    await tick()
    expect(w.last().from).toBe('live')
    w.last().sink.open()
    for (let k = 1; k <= 4; k++) w.last().sink.event(live(`e${k}`))
    expect(data).toEqual(['e2', 'e3', 'e4'])
    sub.close()
  })

  it('an empty id (`id:` with no value: no resume point) is checked as no id, in both builds: the same event again after a reconnect is delivered', async () => {
    const empty = { type: 'message', data: 'x', id: '', lastEventId: '' }
    const { data } = await acrossReconnect([empty], [empty])
    expect(data).toHaveLength(2)
  })

  it('only the start of a connection is checked: once something new came, the stream is delivered as it is', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const data: string[] = []
    sub.on('message', (e) => data.push(e.data))
    await tick()
    w.last().sink.open()
    w.last().sink.event(message(1))
    w.last().sink.event(message(2))
    w.last().sink.event(message(1))
    expect(data).toEqual(['e1', 'e2', 'e1'])
    sub.close()
  })
})

describe('a server that replays events it gave no ids', () => {
  const plain = (k: number) => ({ type: 'message', data: `m${k}`, id: undefined, lastEventId: '' })

  it('is delivered as sent (with no ids there is nothing to drop them by) and, in the development build, told once: give ids, or for nchan the nchan() preset', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const data: string[] = []
    const errors: SubwireError[] = []
    sub.on('message', (e) => data.push(e.data))
    sub.on('error', (e) => errors.push(e))
    for (let round = 0; round < 3; round++) {
      await tick(2000)
      w.last().sink.open()
      for (let k = 1; k <= 3 + round; k++) w.last().sink.event(plain(k))
      w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    }
    expect(data).toEqual(['m1', 'm2', 'm3', 'm1', 'm2', 'm3', 'm4', 'm1', 'm2', 'm3', 'm4', 'm5'])
    const told = errors.filter((e) => e.code === 'no-ids')
    if (DEV) {
      expect(told).toHaveLength(1)
      expectSaid(told[0], 'no-ids', /nchan\(\) preset/)
    } else expect(told).toEqual([])
    sub.close()
  })

  it('is not told when a new connection starts with fewer than three such events, or with new ones', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const errors: SubwireError[] = []
    sub.on('error', (e) => errors.push(e))
    await tick()
    w.last().sink.open()
    for (let k = 1; k <= 5; k++) w.last().sink.event(plain(k))
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(2000)
    w.last().sink.open()
    // The same price twice, then news: an ordinary stream.
    for (const k of [5, 5, 6, 1, 2, 3]) w.last().sink.event(plain(k))
    expect(errors.filter((e) => e.code === 'no-ids')).toEqual([])
    sub.close()
  })
})

describe('progress is health', () => {
  it('a stream cut every two seconds with steady events reconnects at the default delay every time', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    const delays: number[] = []
    sub.on('state', (s) => s.delay !== undefined && delays.push(s.delay))
    await tick()
    let k = 0
    for (let cut = 0; cut < 6; cut++) {
      w.last().sink.open()
      for (let i = 0; i < 20; i++) {
        w.last().sink.event(message(++k))
        await tick(100)
      }
      w.last().sink.close()
      await tick(delays.at(-1)!)
    }
    expect(delays).toEqual([500, 500, 500, 500, 500, 500])
    sub.close()
  })

  it('connections that deliver nothing new (a replay only) still climb the curve', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    const delays: number[] = []
    sub.on('state', (s) => s.delay !== undefined && delays.push(s.delay))
    await tick()
    w.last().sink.open()
    w.last().sink.event(message(1))
    w.last().sink.event(message(2))
    w.last().sink.close()
    await tick(delays.at(-1)!)
    for (let i = 0; i < 3; i++) {
      w.last().sink.open()
      w.last().sink.event(message(1))
      w.last().sink.event(message(2))
      w.last().sink.close()
      await tick(delays.at(-1)!)
    }
    // Full jitter over a cap that doubles (random is 0.5 here).
    expect(delays).toEqual([500, 1000, 2000, 4000])
    sub.close()
  })

  it('a server that made progress and asks for retry: 0 is still reconnected at most twice a second', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    const delays: number[] = []
    sub.on('state', (s) => s.delay !== undefined && delays.push(s.delay))
    await tick()
    for (let i = 0; i < 3; i++) {
      w.last().sink.open()
      w.last().sink.retry(0)
      w.last().sink.event(message(2 * i + 1))
      w.last().sink.event(message(2 * i + 2))
      await tick(100)
      w.last().sink.close()
      await tick(delays.at(-1)!)
    }
    expect(delays).toEqual([400, 400, 400])
    sub.close()
  })
})

describe('fatal only for an endpoint that never worked and that every transport says is missing', () => {
  it('a server restart behind a WebSocket-only endpoint (404 from the HTTP transports) is retried, never fatal', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource', 'longpoll'] }))
    await tick()
    w.last('websocket').sink.open()
    w.last('websocket').sink.event(message(1))
    w.last('websocket').sink.close(new ConnectionError('dropped', 'websocket', 1006))
    // Three minutes of a refused WebSocket and 404s from the HTTP transports.
    for (let s = 0; s < 180; s++) {
      const c = w.last()
      if (!c.closed && !c.ended) c.sink.close(c.name === 'websocket' ? new ConnectionError('refused', 'websocket') : new HttpError(404, c.name))
      await tick(1000)
      expect(sub.state).not.toBe('closed')
    }
    // Back: the WebSocket works again.
    // (Real time allowed for the checks: each advances the fake clock a second; a busy machine runs fewer per second.)
    await vi.waitFor(
      async () => {
        await tick(1000)
        expect(w.open().map((c) => c.name)).toEqual(['websocket'])
      },
      { timeout: 10_000 },
    )
    w.last('websocket').sink.open()
    w.last('websocket').sink.event(message(2))
    expect(sub.state).toBe('open')
    sub.close()
  })

  it('a WebSocket-only server back from an outage while the round is on the HTTP transports (their 404 ends it) is reached as after any outage: within 1.25 × the outage + 1 s', async () => {
    // The native object on the same server retries every `retry` (500 ms) and is back within that.
    // The server comes back right after the k-th refused WebSocket of the outage: the rest of that
    // round (eventsource, longpoll, poll) finds it up, with no HTTP endpoint.
    for (const k of [1, 2, 3, 4, 6]) {
      const w = world()
      const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource', 'longpoll', 'poll'], onError: () => {} }))
      await tick()
      w.last('websocket').sink.open()
      w.last('websocket').sink.retry(500)
      w.last('websocket').sink.event(message(1))
      const down = Date.now()
      w.last('websocket').sink.close(new ConnectionError('dropped', 'websocket', 1006))
      let refused = 0
      let back: number | undefined
      let reached: number | undefined
      while (reached === undefined && Date.now() - down < 120000) {
        const c = w.open()[0]
        if (c && back !== undefined) {
          if (c.name === 'websocket') reached = Date.now() - back
          else c.sink.close(new HttpError(404, c.name))
        } else if (c) {
          c.sink.close(c.name === 'websocket' ? new ConnectionError('refused', 'websocket') : new ConnectionError('network', c.name))
          if (c.name === 'websocket' && ++refused === k) back = Date.now()
        }
        await tick(50)
      }
      const outage = back! - down
      expect({ k, within: reached! <= 1.25 * outage + 1000 }).toEqual({ k, within: true })
      sub.close()
    }
  })

  it('a new subscription to an endpoint that worked earlier in this page is not fatal either', async () => {
    const first = w.subscribe(URL_, w.options({ transports: ['longpoll'] }))
    await tick()
    w.last().sink.heartbeat()
    first.close()
    const second = w.subscribe(URL_, w.options({ transports: ['longpoll'] }))
    await tick()
    w.last().sink.close(new HttpError(404, 'longpoll'))
    expect(second.state).toBe('reconnecting')
    second.close()
  })

  it('an endpoint missing from the start, on every transport, closes with the 404', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'] }))
    await tick()
    w.last('websocket').sink.close(new ConnectionError('refused', 'websocket'))
    await tick()
    w.last('eventsource').sink.close(new HttpError(404, 'eventsource'))
    expect(sub.state).toBe('closed')
  })

  it('a WebSocket that never opens is not a definite answer by itself: a WebSocket-only subscription keeps trying', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    await tick()
    for (let i = 0; i < 5; i++) {
      w.last().sink.close(new ConnectionError('refused', 'websocket'))
      await tick(60000)
    }
    expect(sub.state).not.toBe('closed')
    sub.close()
  })
})

describe('leftovers', () => {
  it('a check that fails itself, past the proof deadline, leaves the quiet connection trusted and checked again later: never stuck', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], connectTimeout: 1000 }))
    await tick()
    const stream = w.last()
    stream.sink.open() // accepted, then silent (a stalled body)
    await tick(1000) // connectTimeout: long polling checks beside it
    const check = w.last()
    expect(check.name).toBe('longpoll')
    check.sink.close(new HttpError(503, 'longpoll'))
    expect(sub.state).toBe('open')
    await tick(1000)
    // Checked again after connectTimeout.
    expect(w.last()).not.toBe(check)
    expect(w.last().name).toBe('longpoll')
    expect(stream.closed).toBe(false)
    sub.close()
  })

  it('a drop during the sharing grace after the last subscription left opens nothing new', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], share: 'page' }))
    await tick()
    w.last().sink.open()
    w.last().sink.event(message(1))
    sub.close()
    const before = w.connections.length
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(5000)
    expect(w.connections).toHaveLength(before)
    expect(w.open()).toEqual([])
  })

  it('a probe cut short by a probation check is scheduled again', async () => {
    w.storage.setItem(`subwire:${URL_}`, `eventsource ${Date.now() + 3_600_000}`)
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource', 'longpoll'], upgradeAfter: 5000 }))
    await tick()
    w.last('eventsource').sink.open() // accepted, then silent
    await tick(10000) // longpoll beside it has nothing to say either: trusted, on probation
    await tick(5000) // a probe of websocket
    expect(w.last().name).toBe('websocket')
    await tick(5000) // the probation re-check replaces it
    expect(w.last().name).toBe('longpoll')
    await tick(60000)
    // The probe came again after the check.
    expect(w.connections.filter((c) => c.name === 'websocket').length).toBeGreaterThanOrEqual(2)
    sub.close()
    expect(w.open()).toEqual([])
  })
})

/** A native EventSource the test drives: open, events, errors with the readyState the browser would have. */
class FakeEventSource extends EventTarget {
  static all: FakeEventSource[] = []
  onopen: ((event: Event) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  readyState = 0
  constructor(readonly url: string) {
    super()
    FakeEventSource.all.push(this)
  }
  close() {
    this.readyState = 2
  }
  open() {
    if (this.readyState === 2) return
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  emit(data: string, lastEventId = '') {
    this.dispatchEvent(Object.assign(new Event('message'), { data, lastEventId }))
  }
  /** The stream ended or dropped: the browser reconnects by itself (CONNECTING). */
  drop() {
    if (this.readyState === 2) return
    this.readyState = 0
    this.onerror?.(new Event('error'))
  }
}

describe('the native EventSource keeps its own reconnects (they send Last-Event-ID)', () => {
  const native = createSubscribe({ eventsource })
  const start = (extra = {}) =>
    native(URL_, w.options({ eventsource: 'native', env: { ...w.env, EventSource: FakeEventSource as never }, ...extra }))

  beforeEach(() => {
    FakeEventSource.all = []
  })

  it('after a connection that made progress the same object goes on, and its replays are checked again', async () => {
    const sub = start()
    const data: string[] = []
    sub.on('message', (e) => data.push(e.data))
    await tick()
    const es = FakeEventSource.all[0]!
    es.open()
    es.emit('a', '1')
    es.emit('b', '2')
    es.drop()
    es.open()
    // A server that resumes with ">=": the event asked to resume after comes first.
    es.emit('b', '2')
    es.emit('c', '3')
    expect(FakeEventSource.all).toHaveLength(1)
    expect(data).toEqual(['a', 'b', 'c'])
    sub.close()
  })

  it('reconnects that bring nothing, or come in a tight loop, are taken over by the backoff', async () => {
    const sub = start()
    await tick()
    const es = FakeEventSource.all[0]!
    es.open()
    es.emit('a', '1')
    // One reconnect after progress is its own; three in a row that bring nothing are not.
    for (let i = 0; i < 4; i++) es.drop()
    expect(es.readyState).toBe(2)
    expect(sub.state).toBe('reconnecting')
    const loop = () => FakeEventSource.all.at(-1)!
    await tick(60000)
    for (let i = 0; i < 5; i++) {
      loop().open()
      loop().emit(`x${i}`, `${10 + i}`)
      loop().drop()
    }
    expect(loop().readyState).toBe(2)
    sub.close()
  })

  it('an event past maxEventSize is dropped with a ProtocolError; its id still moves the resume point', async () => {
    const errors: SubwireError[] = []
    const data: string[] = []
    const sub = start({ maxEventSize: 10 })
    sub.on('error', (e) => errors.push(e))
    sub.on('message', (e) => data.push(e.data))
    await tick()
    const es = FakeEventSource.all[0]!
    es.open()
    es.emit('x'.repeat(11), '7')
    es.emit('small', '8')
    expect(data).toEqual(['small'])
    expectSaid(errors[0], 'big-event', 'eventsource: event over maxEventSize (10) dropped: raise maxEventSize if such events are expected')
    sub.close()
  })
})

describe('across origins, the default eventsource turns to the native object where Last-Event-ID cannot go', () => {
  it('asks at the first request; a refused header means the native EventSource, remembered for the origin', async () => {
    vi.useRealTimers()
    FakeEventSource.all = []
    const url = 'http://stream.test/events'
    const requests: Array<string | null> = []
    server.use(
      http.get(url, ({ request }) => {
        requests.push(request.headers.get('last-event-id'))
        return HttpResponse.error()
      }),
    )
    const sub = subscribe(url, { transports: ['eventsource'], share: false, env: { EventSource: FakeEventSource as never, location: 'http://app.test/' } })
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(1))
    expect(requests).toEqual([''])
    FakeEventSource.all[0]!.open()
    expect(sub.state).toBe('open')
    sub.close()
    const again = subscribe(url, { transports: ['eventsource'], share: false, env: { EventSource: FakeEventSource as never, location: 'http://app.test/' } })
    await vi.waitFor(() => expect(FakeEventSource.all).toHaveLength(2))
    expect(requests).toHaveLength(1)
    again.close()
  })
})

describe('streams and polls', () => {
  it.each([
    ['a greeting comment and the blank line after it are one heartbeat', ': hi\n\n'],
    ['comments sent together as a connection starts (a greeting and padding) are a greeting too', `: hi\n\n:${' '.repeat(2048)}\n\n: ready\n\n`],
  ])('%s: no cadence, so a server quiet after them is kept', async (_what, greeting) => {
    vi.useRealTimers()
    server.use(
      http.get('http://localhost/quiet', () => {
        const body = new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode(greeting)) })
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } })
      }),
    )
    const errors: SubwireError[] = []
    const sub = subscribe('http://localhost/quiet', { transports: ['eventsource'], share: false, heartbeatTimeout: 200 })
    sub.on('error', (e) => errors.push(e))
    await vi.waitFor(() => expect(sub.state).toBe('open'))
    await new Promise((r) => setTimeout(r, 600))
    expect(errors).toEqual([])
    expect(sub.state).toBe('open')
    sub.close()
  })

  it('a poll answered by a server that ignores the resume id (it reads only Last-Event-ID) delivers each event once: every answer is checked for replays', async () => {
    let published = 0
    server.use(
      http.get('http://localhost/all', () => {
        // Everything since the start, every time: a plain SSE server reads no query.
        published++
        let body = 'retry: 1000\n\n'
        for (let k = 1; k <= published; k++) body += `id: ${k}\ndata: e${k}\n\n`
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } })
      }),
    )
    const data: string[] = []
    const sub = createSubscribe({ longpoll })('http://localhost/all', w.options({ env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => data.push(e.data))
    await tick()
    for (let i = 0; i < 4; i++) {
      await vi.waitFor(() => expect(published).toBeGreaterThan(i))
      await tick(1000)
    }
    await vi.waitFor(() => expect(data.length).toBeGreaterThanOrEqual(4))
    sub.close()
    expect(data.slice(0, 4)).toEqual(['e1', 'e2', 'e3', 'e4'])
    expect(new Set(data).size).toBe(data.length)
  })

  it('a long poll whose every event has the same id (an id that names the stream) delivers every answer: none is taken for the event asked after', async () => {
    let answered = 0
    server.use(
      // Each request waits for the next event (a second here), whatever id it carries.
      http.get('http://localhost/live', async () => {
        await delay(1000)
        answered++
        return HttpResponse.json([{ id: 'live', data: `e${answered}` }])
      }),
    )
    const data: string[] = []
    const sub = createSubscribe({ longpoll })('http://localhost/live', w.options({ env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => data.push(e.data))
    await tick()
    for (let i = 0; i < 5; i++) await tick(1000)
    await vi.waitFor(() => expect(data.length).toBeGreaterThanOrEqual(4))
    sub.close()
    expect(data.slice(0, 4)).toEqual(['e1', 'e2', 'e3', 'e4'])
  })

  it('a JSON long poll that answers what comes after each request (no resume point) loses nothing to the event stream tried first: its answer is delivered, then long polling goes on', async () => {
    let answered = 0
    const accepts: string[] = []
    server.use(
      // The request waits for the next event, whichever transport asks; there is no id to resume from.
      http.get('http://localhost/next', async ({ request }) => {
        accepts.push(request.headers.get('accept') ?? '')
        await delay(500)
        return HttpResponse.json([{ data: `e${++answered}` }])
      }),
    )
    const data: string[] = []
    const transports: string[] = []
    const sub = subscribe('http://localhost/next', w.options({ transports: ['eventsource', 'longpoll'], eventsource: 'fetch', env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => (data.push(e.data), transports.push(e.transport)))
    await tick()
    for (let i = 0; i < 5 && data.length < 3; i++) await tick(500)
    await vi.waitFor(() => expect(data.length).toBeGreaterThanOrEqual(3))
    sub.close()
    expect(accepts[0]).toBe('text/event-stream')
    expect(data.slice(0, 3)).toEqual(['e1', 'e2', 'e3'])
    expect(transports.slice(1, 3)).toEqual(['longpoll', 'longpoll'])
    expect(sub.transport).toBe('longpoll')
    // The transport remembered for the endpoint is the one that reads it.
    expect(w.storage.map.get('subwire:http://localhost/next')).toMatch(/^longpoll /)
  })

  it('a listener that closes the subscription on the first event of that answer: nothing after it is delivered, and nothing more is asked', async () => {
    let requests = 0
    server.use(
      http.get('http://localhost/two', () => {
        requests++
        return HttpResponse.json([{ data: 'e1' }, { data: 'e2' }])
      }),
    )
    const data: string[] = []
    const sub = subscribe('http://localhost/two', w.options({ transports: ['eventsource', 'longpoll'], eventsource: 'fetch', env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => (data.push(e.data), sub.close()))
    await tick()
    await vi.waitFor(() => expect(data).toEqual(['e1']))
    await tick(5000)
    expect(data).toEqual(['e1'])
    expect(sub.state).toBe('closed')
    expect(requests).toBe(1)
  })

  it('an empty JSON answer to the event stream is nothing new there, as in a poll: no unreadable-frame error, and long polling goes on', async () => {
    let requests = 0
    server.use(
      http.get('http://localhost/empty', () => {
        requests++
        return requests === 1 ? new HttpResponse('', { headers: { 'content-type': 'application/json' } }) : HttpResponse.json([{ data: `e${requests}` }])
      }),
    )
    const data: string[] = []
    const codes: string[] = []
    const sub = subscribe('http://localhost/empty', w.options({ transports: ['eventsource', 'longpoll'], eventsource: 'fetch', env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => data.push(e.data))
    sub.on('error', (e) => codes.push(e.code))
    await tick()
    await vi.waitFor(() => expect(data.length).toBeGreaterThanOrEqual(1))
    sub.close()
    expect(data[0]).toBe('e2')
    expect(codes).toEqual(['content-type'])
  })

  it('a long poll answered at once with a new event every time, each with the same id, is news every time: read again at once, never "not a long poll"', async () => {
    let answered = 0
    server.use(http.get('http://localhost/busy', () => HttpResponse.json([{ id: 'live', data: `e${++answered}` }])))
    const data: string[] = []
    const codes: string[] = []
    const sub = createSubscribe({ longpoll })('http://localhost/busy', w.options({ env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => data.push(e.data))
    sub.on('error', (e) => codes.push(e.code))
    await tick()
    for (let i = 0; i < 20 && data.length < 8; i++) await tick(10)
    sub.close()
    expect(data.slice(0, 8)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'])
    expect(codes).toEqual([])
  })

  it("a stream that answers what is new, often nothing, and ends (retry: 1000) is read again after the server's retry, on the same transport, as the native object reads it", async () => {
    const at: number[] = []
    let next = 0
    server.use(
      http.get('http://localhost/check', () => {
        at.push(Date.now())
        // Nothing new on the first four requests; then one event.
        const body = at.length === 5 ? `retry: 1000\nid: ${++next}\ndata: e${next}\n\n` : 'retry: 1000\n\n'
        return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } })
      }),
    )
    const data: string[] = []
    const transports: string[] = []
    const sub = createSubscribe({ eventsource, longpoll })('http://localhost/check', w.options({ transports: ['eventsource', 'longpoll'], eventsource: 'fetch', env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    sub.on('message', (e) => data.push(e.data))
    sub.on('state', (s) => transports.push(s.transport!))
    await tick()
    for (let i = 0; i < 5; i++) {
      await vi.waitFor(() => expect(at.length).toBeGreaterThan(i))
      await tick(1125)
    }
    await vi.waitFor(() => expect(data).toEqual(['e1']))
    sub.close()
    expect([...new Set(transports)]).toEqual(['eventsource'])
    // The server's second, and an eighth of it at most on top: no climbing while it answers.
    for (const gap of at.slice(1, 5).map((t, i) => t - at[i]!)) expect(gap).toBeGreaterThanOrEqual(1000), expect(gap).toBeLessThanOrEqual(1125)
  })

  it("long polling follows the server's retry after an answer with events, as the native object does between responses", async () => {
    const at: number[] = []
    server.use(
      http.get('http://localhost/one', ({ request }) => {
        at.push(Date.now())
        const from = Number(new URL(request.url).searchParams.get('lastEventId') ?? 0)
        return new HttpResponse(`retry: 1000\nid: ${from + 1}\ndata: x\n\n`, { headers: { 'content-type': 'text/event-stream' } })
      }),
    )
    const sub = createSubscribe({ longpoll })('http://localhost/one', w.options({ env: { ...w.env, fetch: globalThis.fetch.bind(globalThis) } }))
    await tick()
    for (let i = 0; i < 4; i++) {
      await vi.waitFor(() => expect(at.length).toBeGreaterThan(i))
      await tick(1000)
    }
    sub.close()
    expect(at.slice(1, 4).map((t, i) => t - at[i]!)).toEqual([1000, 1000, 1000])
  })
})

describe('the replay window (seen.ts)', () => {
  it('gives each event its place in the order delivered, later events larger, across the wrap of its ring; forgets the oldest; tells other data apart', async () => {
    const { createSeen, SIZE } = await import('../../src/seen')
    const seen = createSeen()
    for (let k = 1; k <= SIZE + 500; k++) seen.add(String(k), `e${k}`)
    const place = (k: number) => seen.has(String(k), `e${k}`) as number
    expect(seen.has('100', 'e100')).toBeUndefined()
    expect(place(SIZE + 500)).toBe(SIZE + 500)
    expect(place(501)).toBe(501)
    for (const [a, b] of [[501, 502], [SIZE - 1, SIZE], [SIZE, SIZE + 1], [SIZE + 1, SIZE + 499]]) expect(place(a!)).toBeLessThan(place(b!))
    expect(seen.has('700', 'other')).toBe(false)
  })
})
