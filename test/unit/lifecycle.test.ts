// The lifecycle's edges: close() from inside every callback in every state, and each of the ways
// the state machine used to break its promises (backoff resets, hints, liveness, probes, iterators).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError, type StateChange, type SubwireEvent } from '../../src/index'
import { tick, URL_, world, type World } from '../fixtures/fake'
import type { TransportSink } from '../../src/transports/types'
import { DEV, expectSaid } from '../fixtures/said'
import { say } from '../../src/text'

let w: World

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  w = world()
})

const heartbeat = ': hb'

/**
 * A scenario that passes through every state and fires every callback: connecting, open (with the
 * 'open' event), events of two types, a warning, a retryable drop (error + reconnecting), an
 * unproven failure (fallback), offline and online, a 503 with Retry-After, and a fatal 204.
 */
async function scenario(wd: World): Promise<void> {
  // After an early close() no new connection appears: later steps then drive a stale one, or none.
  const on = (name: 'websocket' | 'eventsource') => wd.last(name)?.sink ?? { open() {}, heartbeat() {}, event() {}, warn() {}, close() {} }
  await tick()
  const ws = on('websocket')
  ws.open()
  ws.heartbeat()
  ws.event({ type: 'message', data: 'a', id: '1', lastEventId: '1' })
  ws.event({ type: 'tick', data: 'b', id: '2', lastEventId: '2' })
  ws.warn(new ProtocolError('odd frame', 'websocket'))
  ws.close(new ConnectionError('dropped', 'websocket', 1006))
  await tick(1000)
  on('websocket').close(new ConnectionError('refused', 'websocket', 1006))
  await tick()
  const es = on('eventsource')
  es.open()
  es.event({ type: 'message', data: 'c', id: '3', lastEventId: '3' })
  wd.online = false
  wd.fire('offline')
  es.close(new ConnectionError('dropped', 'eventsource'))
  wd.online = true
  wd.fire('online')
  await tick()
  const es2 = on('eventsource')
  es2.heartbeat()
  es2.event({ type: 'message', data: 'd', id: '4', lastEventId: '4' })
  es2.close(new HttpError(503, 'eventsource', 2000))
  await tick(5000)
  const es3 = on('eventsource')
  es3.heartbeat()
  es3.close(new HttpError(204, 'eventsource'))
  await tick(60000)
}

type Hook = 'onStateChange' | 'state' | 'open' | 'error' | 'onError' | 'onMessage' | 'message' | 'tick' | 'iterator'
const HOOKS: Hook[] = ['onStateChange', 'state', 'open', 'error', 'onError', 'onMessage', 'message', 'tick', 'iterator']

/** Run the scenario; at the `at`-th call of `hook` (0-based), call close(). Returns what happened. */
async function runClosingAt(hook: Hook | undefined, at: number, by: 'close' | 'abort' = 'close') {
  const wd = world()
  let calls = 0
  let closedAt: string | undefined
  const late: string[] = []
  const controller = new AbortController()
  const seen: string[] = []
  const touch = (name: Hook, detail: string) => {
    if (closedAt) late.push(`${name} ${detail}`)
    seen.push(`${name}:${detail}`)
    if (name === hook && calls++ === at) {
      closedAt = `${name} ${detail}`
      if (by === 'abort') controller.abort()
      else sub.close()
    }
  }
  const sub = wd.subscribe(
    URL_,
    wd.options({
      transports: ['websocket', 'eventsource', 'longpoll'],
      signal: controller.signal,
      onStateChange: (s) => touch('onStateChange', s.state),
      onError: (e) => touch('onError', e.kind),
      onMessage: (e) => touch('onMessage', String(e.data)),
    }),
  )
  sub.on('state', (s) => touch('state', s.state))
  sub.on('open', (i) => touch('open', i.transport))
  sub.on('error', (e) => touch('error', e.kind))
  sub.on('message', (e) => touch('message', e.data))
  sub.on('tick', (e) => touch('tick', e.data))
  // A fatal error ends the loop by throwing it: expected here.
  const iterating = (async () => {
    for await (const event of sub) touch('iterator', String(event.data))
  })().catch((error: SubwireError) => error)
  await scenario(wd)
  sub.close()
  await iterating
  // The closing 'closed' state change itself runs inside close(): not late.
  return { late: late.filter((l) => !/state closed|onStateChange closed/.test(l)), closedAt, seen, wd, sub }
}

describe('re-entrancy: close() from inside every callback, in every state', async () => {
  const dry = await (async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const result = await runClosingAt(undefined, 0)
    vi.useRealTimers()
    return result.seen
  })()
  const cases: Array<[Hook, number, string]> = []
  for (const hook of HOOKS) {
    const calls = dry.filter((s) => s.startsWith(`${hook}:`))
    calls.forEach((call, i) => cases.push([hook, i, call.slice(hook.length + 1)]))
  }

  it('covers every hook, and every state for the state hooks', () => {
    for (const hook of HOOKS) expect(cases.some(([h]) => h === hook), hook).toBe(true)
    for (const state of ['connecting', 'open', 'reconnecting', 'closed']) expect(dry).toContain(`state:${state}`)
  })

  it.each(cases)('close() in %s call #%i (%s): nothing runs after, nothing is left open', async (hook, at) => {
    const { late, closedAt, wd, sub } = await runClosingAt(hook, at)
    expect(closedAt).toBeDefined()
    expect(late).toEqual([])
    expect(sub.state).toBe('closed')
    expect(wd.open()).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    expect(wd.page.live).toBe(0)
  })

  it.each(cases.filter(([hook]) => hook === 'state' || hook === 'error'))('abort() in %s call #%i (%s) stops it the same way', async (hook, at) => {
    const { late, wd, sub } = await runClosingAt(hook, at, 'abort')
    expect(late).toEqual([])
    expect(sub.state).toBe('closed')
    expect(wd.open()).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    expect(wd.page.live).toBe(0)
  })
})

describe('each edge of the state machine', () => {
  it('close() from an error listener during a retryable drop stops it, also while offline (1)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const states: string[] = []
    sub.on('state', (s) => states.push(s.state))
    sub.on('error', () => sub.close())
    await tick()
    w.last().sink.open()
    w.last().sink.heartbeat()
    w.online = false
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    expect(states).toEqual(['connecting', 'open', 'closed'])
    await tick(600000)
    expect(w.connections).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('close() from a state listener on connecting creates no transport (2)', async () => {
    const sub = w.subscribe(URL_, w.options())
    sub.on('state', (s) => s.state === 'connecting' && sub.close())
    await tick(60000)
    expect(w.connections).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it("close() from a state listener on open: no 'open' listener runs after it (3)", async () => {
    const sub = w.subscribe(URL_, w.options())
    const opened: string[] = []
    const errors: string[] = []
    sub.on('state', (s) => s.state === 'open' && sub.close())
    sub.on('open', (i) => opened.push(i.transport))
    sub.on('error', (e) => errors.push(e.kind))
    await tick()
    w.last().sink.open()
    w.last().sink.heartbeat()
    expect(opened).toEqual([])
    expect(w.open()).toEqual([])
  })

  it("close() from onError: no 'error' listener runs after it (3)", async () => {
    const errors: string[] = []
    const sub = w.subscribe(URL_, w.options({ onError: () => sub.close() }))
    sub.on('error', (e) => errors.push(e.kind))
    await tick()
    w.last().sink.warn(new ProtocolError('odd', 'websocket'))
    expect(errors).toEqual([])
    expect(sub.state).toBe('closed')
  })

  it("close() while the sleep watchdog reconnects leaves no watchdog running (4)", async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], heartbeatTimeout: 0 }))
    await tick()
    w.last().sink.open()
    w.last().sink.heartbeat()
    sub.on('state', (s) => s.state === 'connecting' && sub.close())
    // The machine sleeps for ten minutes: the clock jumps, the watchdog replaces the connection.
    vi.setSystemTime(Date.now() + 600000)
    await tick(10000)
    expect(sub.state).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    await tick(120000)
    expect(w.connections).toHaveLength(1)
  })

  it('an iterator stops exactly where abort() is called, and return() settles a pending next() at once (5)', async () => {
    const controller = new AbortController()
    const sub = w.subscribe(URL_, w.options({ signal: controller.signal }))
    await tick()
    const got: string[] = []
    const loop = (async () => {
      for await (const event of sub) {
        got.push(event.data)
        if (event.data === 'done') controller.abort()
      }
    })()
    const c = w.last()
    c.sink.open()
    // One chunk: 'done' and what follows it arrive together, before the loop body runs.
    for (const data of ['a', 'done', 'after-1', 'after-2']) c.sink.event({ type: 'message', data, id: undefined, lastEventId: '' })
    await loop
    expect(got).toEqual(['a', 'done'])

    const other = w.subscribe(URL_, w.options())
    await tick()
    const iterator = other[Symbol.asyncIterator]()
    const pending = iterator.next()
    await iterator.return!()
    await expect(pending).resolves.toEqual({ done: true, value: undefined })
    // Breaking out of the only consumer's loop ends the subscription.
    expect(other.state).toBe('closed')
  })

  it('a long healthy connection replaced by pagehide/pageshow, the watchdog or reconnect() resets the backoff (6)', async () => {
    const states: StateChange[] = []
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], heartbeatTimeout: 0, retry: { maxElapsed: 60000, initialDelay: 1000 } }))
    sub.on('state', (s) => states.push(s))
    await tick()
    // A few failures first (well within maxElapsed): the counter climbs.
    for (let i = 0; i < 3; i++) {
      w.last().sink.close(new ConnectionError('refused', 'websocket', 1006))
      await tick(2500)
    }
    expect(states.at(-1)!.attempt).toBeGreaterThan(1)
    for (const replace of [() => (w.fire('pagehide'), w.fire('pageshow')), () => (vi.setSystemTime(Date.now() + 600000), undefined), () => sub.reconnect()]) {
      w.last().sink.open()
      w.last().sink.heartbeat()
      // Ten healthy minutes (the watchdog sees activity meanwhile).
      for (let m = 0; m < 10; m++) {
        w.last().sink.event({ type: 'message', data: 'x', id: undefined, lastEventId: '' })
        await tick(60000)
      }
      replace()
      await tick(1)
      // One failure now: the first of a new series, not the end of an old one.
      w.last().sink.close(new ConnectionError('refused', 'websocket', 1006))
      expect(sub.state).toBe('reconnecting')
      expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1 })
      await tick(1000)
    }
    sub.close()
  })

  it('Retry-After: 0 goes through maxAttempts, the retry function and jitter (7)', async () => {
    const delays: Array<number | undefined> = []
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'], retry: { maxAttempts: 4 } }))
    sub.on('state', (s) => s.state === 'reconnecting' && delays.push(s.delay))
    await tick()
    for (let i = 0; i < 6 && sub.state !== 'closed'; i++) {
      w.last().sink.close(new HttpError(503, 'eventsource', 0))
      await tick(delays.at(-1) ?? 0)
    }
    // 0 + jitter, then growing; closed after maxAttempts.
    expect(delays).toEqual([50, 2500, 5000, 10000])
    expect(sub.state).toBe('closed')

    const hints: unknown[] = []
    const custom = w.subscribe(URL_, w.options({ transports: ['eventsource'], retry: (attempt, _e, info) => (hints.push(info.hint), attempt < 1 ? 5 : false) }))
    await tick()
    w.last().sink.close(new HttpError(503, 'eventsource', 0))
    await tick(5)
    w.last().sink.close(new HttpError(503, 'eventsource', 0))
    expect(hints).toEqual([0, 0])
    expect(custom.state).toBe('closed')
  })

  it('a WebSocket closed cleanly before any byte falls back instead of retrying forever (11)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'] }))
    await tick()
    w.last().sink.open()
    w.last().sink.close()
    await tick()
    expect(w.last().name).toBe('eventsource')
    sub.close()
  })

  it('a failing headers/query provider is retried on the same transport and never remembered against it (12)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'] }))
    await tick()
    w.last().sink.close(new SubwireError('provider', 'the query function failed', 'websocket', true))
    expect(sub.state).toBe('reconnecting')
    await tick(1000)
    expect(w.connections.map((c) => c.name)).toEqual(['websocket', 'websocket'])
    expect(w.storage.map.size).toBe(0)
    sub.close()
  })

  it('mixing SSE and JSON frames never moves the resume id backwards (14)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    await tick()
    // Through the real frame reader: the transport's own frames module is not faked here, so use the
    // websocket transport's reader via the context of a real transport instead.
    const { createFrames } = await import('../../src/transports/frames')
    const c = w.last()
    const frames = createFrames(c.context, c.sink)
    c.sink.open()
    const events: SubwireEvent[] = []
    sub.on('message', (e) => events.push(e))
    frames.frame('id: 1\ndata: a\n\n')
    frames.frame('{"id": 2, "data": "b"}')
    frames.frame('data: c\n\n')
    expect(events.map((e) => [e.data, e.lastEventId])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '2'],
    ])
    c.sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(30000)
    expect(w.last().from).toBe('2')
    sub.close()
  })

  it('a probe upgrade retargets the next probe above the new transport, and a probe never moves down (15, 16)', async () => {
    w.storage.setItem('subwire:http://localhost/events', `poll ${Date.now() + 3600000}`)
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll', 'poll'], upgradeAfter: 1000 }))
    await tick()
    let main = w.last()
    expect(main.name).toBe('poll')
    main.sink.heartbeat()
    await tick(1000)
    // The first probe goes to the best transport; it fails.
    const probe1 = w.last()
    expect(probe1.name).toBe('eventsource')
    probe1.sink.close(new ConnectionError('refused', 'eventsource'))
    // The next one (after a doubled wait) tries longpoll; it delivers the same event as poll: move up.
    await tick(2000)
    const probe2 = w.last()
    expect(probe2.name).toBe('longpoll')
    probe2.sink.event({ type: 'message', data: 'x', id: '7', lastEventId: '7' })
    main.sink.event({ type: 'message', data: 'x', id: '7', lastEventId: '7' })
    await tick()
    main = w.last()
    expect(main.name).toBe('longpoll')
    expect(main.from).toBe('7')
    main.sink.heartbeat()
    // Every later probe targets eventsource, the only transport above longpoll: never longpoll, never poll.
    for (let i = 0; i < 5; i++) {
      await tick(40000)
      const probe = w.last()
      if (probe !== main) {
        expect(probe.name).toBe('eventsource')
        probe.sink.close(new ConnectionError('refused', 'eventsource'))
      }
    }
    expect(w.connections.filter((c) => c !== main && c.name !== 'eventsource' && w.connections.indexOf(c) > w.connections.indexOf(main))).toEqual([])
    sub.close()
  })

  it('a probe whose events carry no ids, or other ids, never moves the subscription', async () => {
    w.storage.setItem('subwire:http://localhost/events', `eventsource ${Date.now() + 3600000}`)
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'], upgradeAfter: 1000 }))
    await tick()
    const main = w.last()
    main.sink.heartbeat()
    await tick(1000)
    const probe = w.last()
    expect(probe.name).toBe('websocket')
    // Raw frames (a server's WebSocket speaking another format): bytes and events, but no ids.
    for (let i = 0; i < 3; i++) probe.sink.event({ type: 'message', data: `raw ${i}`, id: undefined, lastEventId: '' })
    main.sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    await tick()
    expect(probe.closed).toBe(true)
    expect(sub.transport).toBe('eventsource')
    await tick(2000)
    const probe2 = w.last()
    probe2.sink.event({ type: 'message', data: 'y', id: 'other-9', lastEventId: 'other-9' })
    main.sink.event({ type: 'message', data: 'y', id: '2', lastEventId: '2' })
    await tick(3 * 10000)
    expect(probe2.closed).toBe(true)
    expect(sub.transport).toBe('eventsource')
    expect(main.closed).toBe(false)
    sub.close()
  })

  it('a transport accepted but silent is kept when the next transport has nothing to say either (quiet server)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'], connectTimeout: 3000 }))
    const states: string[] = []
    sub.on('state', (s) => states.push(`${s.state}:${s.transport}`))
    await tick()
    const ws = w.last()
    ws.sink.open()
    await tick(3000)
    const check = w.last()
    expect(check.name).toBe('eventsource')
    check.sink.open()
    await tick(3000)
    expect(check.closed).toBe(true)
    expect(states).toEqual(['connecting:websocket', 'open:websocket'])
    expect(ws.closed).toBe(false)
    // Not remembered: it never proved itself with an event or a heartbeat.
    expect(w.storage.map.size).toBe(0)
    ws.sink.event({ type: 'message', data: 'late', id: '1', lastEventId: '1' })
    expect(w.storage.map.get('subwire:http://localhost/events')).toMatch(/^websocket /)
    sub.close()
  })

  it('a connection trusted after an inconclusive check stays on probation: checked again while silent, left once the other transport delivers', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], connectTimeout: 1000 }))
    await tick()
    const stalled = w.last()
    stalled.sink.open()
    await tick(1000)
    // The first second opinion has nothing to say (its own request stalls too): trusted, for now.
    expect(w.last().name).toBe('longpoll')
    await tick(1000)
    expect(sub.state).toBe('open')
    expect(w.connections).toHaveLength(2)
    // Still silent: asked again after connectTimeout, and this time long polling delivers.
    await tick(1000)
    const again = w.last()
    expect(w.connections).toHaveLength(3)
    expect(again.name).toBe('longpoll')
    again.sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    await tick()
    expect(sub.transport).toBe('longpoll')
    // The stalled stream stays on as a probe for three connectTimeouts (it would win back by
    // showing the same events), then it is closed.
    expect(stalled.closed).toBe(false)
    await tick(3000)
    expect(stalled.closed).toBe(true)
    sub.close()
  })

  it('a trusted connection that then proves itself is not checked again', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], connectTimeout: 1000 }))
    await tick()
    const main = w.last()
    main.sink.open()
    await tick(2000)
    main.sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    await tick(60000)
    expect(w.connections).toHaveLength(2)
    sub.close()
  })

  it('a transport that sends only what cannot be read fails, and is not proven (frames of another protocol)', async () => {
    const errors: string[] = []
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'] }))
    sub.on('error', (e) => errors.push(e.kind))
    await tick()
    const ws = w.last()
    ws.sink.open()
    for (let i = 0; i < 3; i++) ws.sink.warn(new ProtocolError('frame dropped', 'websocket'))
    await tick()
    expect(w.last().name).toBe('eventsource')
    expect(errors).toEqual(['protocol', 'protocol', 'protocol', 'protocol'])
    sub.close()
  })

  it('heartbeat watching starts once the server showed it sends heartbeats: a second one (a greeting alone is not a cadence)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], heartbeatTimeout: 1000 }))
    await tick()
    const ws = w.last()
    ws.sink.open()
    // A greeting (nchan's ": hi"), then events, then a quiet channel: trusted.
    ws.sink.heartbeat()
    ws.sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    await tick(600000)
    expect(ws.closed).toBe(false)
    // A second heartbeat: this server sends them; silence now means a dead connection.
    ws.sink.heartbeat()
    await tick(1000)
    expect(ws.closed).toBe(true)
    sub.close()
  })

  it('a stream that stalls after its headers is not trusted because its transport is remembered', async () => {
    w.storage.setItem('subwire:http://localhost/events', `eventsource ${Date.now() + 3600000}`)
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], connectTimeout: 1000 }))
    await tick()
    const stalled = w.last()
    stalled.sink.open()
    await tick(1000)
    // A second opinion all the same; long polling delivers: the stream was starved.
    const check = w.last()
    expect(check.name).toBe('longpoll')
    check.sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    await tick()
    expect(sub.transport).toBe('longpoll')
    await tick(3000)
    expect(stalled.closed).toBe(true)
    sub.close()
  })

  it('a server that sent heartbeats on a transport has the next connection on it watched from its start', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'], heartbeatTimeout: 3000, connectTimeout: 1000 }))
    await tick()
    const first = w.last()
    first.sink.open()
    first.sink.heartbeat()
    await tick(1000)
    first.sink.heartbeat()
    first.sink.close(new ConnectionError('dropped', 'eventsource'))
    await tick(1000)
    // The next one is accepted, then stalls: no heartbeat of its own, but this server sends them.
    const second = w.last()
    expect(second).not.toBe(first)
    second.sink.open()
    await tick(3000)
    expect(second.closed).toBe(true)
    sub.close()
  })

  it.each([
    ['check', 'a second opinion decides', ['websocket', 'eventsource'], 'websocket'],
    ['trust', 'kept without asking (a server quiet by design, such as nchan)', ['websocket'], 'websocket'],
    ['fallback', 'starved: fall back at once (a server that always greets)', ['websocket', 'eventsource'], 'eventsource'],
  ] as const)("silent: '%s' — a transport accepted and then silent is %s", async (silent, _what, created, after) => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource'], connectTimeout: 1000, silent }))
    await tick()
    w.last().sink.open()
    await tick(1000)
    expect(w.connections.map((c) => c.name)).toEqual(created)
    if (silent === 'check') w.last().sink.open()
    await tick(1000)
    expect(sub.transport).toBe(after)
    sub.close()
  })

  it('a long poll has its own proof deadline (longPollTimeout), not connectTimeout (9)', async () => {
    w = world({ longpoll: 61000 })
    const sub = w.subscribe(URL_, w.options({ transports: ['longpoll', 'poll'] }))
    await tick()
    await tick(30000)
    expect(w.last().name).toBe('longpoll')
    expect(w.last().closed).toBe(false)
    // The held poll is answered empty after 25 s: proof.
    w.last().sink.heartbeat()
    await tick(120000)
    expect(w.connections.map((c) => c.name)).toEqual(['longpoll'])
    expect(sub.state).toBe('open')
    sub.close()
  })

  it('a native EventSource proves itself by opening (10), and receives the event types named in eventTypes (13)', async () => {
    const { createSubscribe, eventsource, longpoll } = await import('../../src/core')
    const { sources, FakeEventSource } = fakeEventSources()
    const subscribe = createSubscribe({ eventsource, longpoll })
    const seen: string[] = []
    const sub = subscribe(URL_, w.options({ eventsource: 'native', eventTypes: ['tick'], onMessage: (e) => seen.push(`${e.type}:${e.data}`), env: { ...w.env, EventSource: FakeEventSource as never } }))
    await tick()
    const es = sources[0]!
    es.onopen!(new Event('open'))
    // A quiet stream: comments are invisible to it, and its open is all the proof it gives.
    await tick(120000)
    expect(es.closed).toBe(false)
    expect(sub.state).toBe('open')
    es.emit('message', 'a', '1')
    es.emit('tick', 'b', '2')
    es.emit('other', 'c', '3')
    expect(seen).toEqual(['message:a', 'tick:b'])
    expect(sub.lastEventId).toBe('2')
    sub.close()
    expect(es.closed).toBe(true)
  })

  it('a native EventSource: server events named error, open, state or reset are events (to message listeners, as over fetch), not the object failing or opening', async () => {
    const { createSubscribe, eventsource } = await import('../../src/core')
    const { sources, FakeEventSource } = fakeEventSources()
    const subscribe = createSubscribe({ eventsource })
    const seen: string[] = []
    const states: string[] = []
    const sub = subscribe(URL_, w.options({ eventsource: 'native', env: { ...w.env, EventSource: FakeEventSource as never } }))
    sub.on('message', (e) => seen.push(`${e.type}:${e.data}`))
    sub.on('state', (s) => states.push(s.state))
    await tick()
    const es = sources[0]!
    es.readyState = 1
    es.onopen!(new Event('open'))
    es.emit('message', 'a', '1')
    for (const type of ['error', 'open', 'state', 'reset']) es.emit(type, type.toUpperCase(), '1')
    es.emit('message', 'b', '2')
    expect(seen).toEqual(['message:a', 'error:ERROR', 'open:OPEN', 'state:STATE', 'reset:RESET', 'message:b'])
    expect(es.closed).toBe(false)
    expect(sources).toHaveLength(1)
    expect(states).toEqual(['connecting', 'open'])
    sub.close()
  })

  it('the first request goes out, and the first event reaches the listeners, before anything that can wait: page listeners, storage', async () => {
    const { createSubscribe, negotiation } = await import('../../src/core')
    const order: string[] = []
    const { getItem, setItem } = w.storage
    w.storage.getItem = (key) => (order.push('read'), getItem(key))
    w.storage.setItem = (key, value) => (order.push('write'), setItem(key, value))
    // The page listeners there when a transport is opened, per opening; each opening's sink.
    const live: number[] = []
    const sinks: TransportSink[] = []
    const transport = (_: unknown, sink: TransportSink) => (live.push(w.page.live), sinks.push(sink), { close() {} })
    const subscribe = createSubscribe({ eventsource: transport, longpoll: transport }, { negotiation })
    const event = { type: 'message', data: 'a', id: '1', lastEventId: '1' }
    // One transport: nothing to remember, so no storage read or write.
    const sub = subscribe(URL_, w.options({ transports: ['eventsource'] }))
    sub.on('message', () => order.push('message'))
    await tick()
    expect(live).toEqual([0])
    expect(w.page.live).toBe(7)
    sinks[0]!.open()
    sinks[0]!.event(event)
    expect(order).toEqual(['message'])
    sub.close()
    expect(w.page.live).toBe(0)
    // Two: the remembered one is read before the first request; written after the event was told.
    order.length = 0
    const two = subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'] }))
    two.on('message', () => order.push('message'))
    await tick()
    expect(live).toEqual([0, 0])
    sinks[1]!.open()
    sinks[1]!.event(event)
    expect(order).toEqual(['read', 'message', 'write'])
    two.close()
    expect(w.page.live).toBe(0)
  })

  it('nativeEventSource from subwire/core: the eventsource transport over the native object only, whatever fetch the page has', async () => {
    const { createSubscribe, nativeEventSource } = await import('../../src/core')
    const { sources, FakeEventSource } = fakeEventSources()
    let fetched = 0
    const infos: unknown[] = []
    const subscribe = createSubscribe({ eventsource: nativeEventSource })
    const seen: string[] = []
    const options = w.options({
      query: (info) => (infos.push(info), { token: 't' }),
      onMessage: (e) => seen.push(`${e.type}:${e.data}`),
      env: { ...w.env, fetch: (() => (fetched++, new Promise(() => {}))) as never, EventSource: FakeEventSource as never },
    })
    const sub = subscribe(URL_, options)
    await tick()
    expect(sources).toHaveLength(1)
    expect(sub.transport).toBe('eventsource')
    sources[0]!.onopen!(new Event('open'))
    sources[0]!.emit('message', 'a', '1')
    expect(seen).toEqual(['message:a'])
    // The native object gave up: the connection's backoff takes over, and the next one resumes by query.
    sources[0]!.readyState = 2
    sources[0]!.onerror!(new Event('error'))
    await tick(1500)
    expect(sources).toHaveLength(2)
    expect(new URL(sources[1]!.url).searchParams.get('lastEventId')).toBe('1')
    expect(new URL(sources[1]!.url).searchParams.get('token')).toBe('t')
    expect(infos[0]).toEqual({ transport: 'eventsource', canSendHeaders: false })
    expect(fetched).toBe(0)
    sub.close()
    expect(sources[1]!.closed).toBe(true)
    // A request it cannot send (a body) is refused at subscribe(), as eventsource: 'native' is.
    expect(() => subscribe(URL_, { ...options, body: 'x' })).toThrow(SubwireError)
  })

  it('a native EventSource that failed before it opened with the resume id in its query (a plain server that routes on the exact URL: 404) is asked once more, at once, for the URL as given, and so from then on', async () => {
    const { createSubscribe, nativeEventSource } = await import('../../src/core')
    const { sources, FakeEventSource } = fakeEventSources()
    const url = 'http://localhost/exact-native'
    const sub = createSubscribe({ eventsource: nativeEventSource })(url, w.options({ lastEventId: '5', onError: () => {}, env: { ...w.env, EventSource: FakeEventSource as never } }))
    await tick()
    expect(new URL(sources[0]!.url).searchParams.get('lastEventId')).toBe('5')
    sources[0]!.readyState = 2
    sources[0]!.onerror!(new Event('error'))
    await tick()
    expect(sources.map((s) => s.url)).toEqual([`${url}?lastEventId=5`, url])
    // Failing as given too: that is the server's answer (the backoff takes over), and the URL stays as given.
    sources[1]!.readyState = 2
    sources[1]!.onerror!(new Event('error'))
    await tick()
    expect(sources).toHaveLength(2)
    await tick(5000)
    expect(sources.map((s) => s.url)).toEqual([`${url}?lastEventId=5`, url, url])
    sub.close()
  })

  it('a query provider that closes the subscription while that second request is made: nothing is opened after it, nothing thrown', async () => {
    const { createSubscribe, nativeEventSource } = await import('../../src/core')
    const { sources, FakeEventSource } = fakeEventSources()
    let asked = 0
    const query = (): Record<string, string> => (++asked === 2 && sub.close(), {})
    const sub = createSubscribe({ eventsource: nativeEventSource })('http://localhost/exact-native-closed', w.options({ lastEventId: '5', query, env: { ...w.env, EventSource: FakeEventSource as never } }))
    const states: string[] = []
    sub.on('state', (change) => states.push(change.state))
    await tick()
    sources[0]!.readyState = 2
    sources[0]!.onerror!(new Event('error'))
    await tick(5000)
    expect(asked).toBe(2)
    expect(sources).toHaveLength(1)
    expect(sub.state).toBe('closed')
    expect(states.at(-1)).toBe('closed')
  })

  it('a transport of your own that throws as it opens: the attempt fails at once with that cause, nothing thrown out of the page', async () => {
    const { createSubscribe } = await import('../../src/core')
    const sinks: TransportSink[] = []
    const boom = new Error('boom')
    const transport = (_: unknown, sink: TransportSink) => {
      if (!sinks.length) (sinks.push(sink), (() => { throw boom })())
      sinks.push(sink)
      return { close() {} }
    }
    const subscribe = createSubscribe({ eventsource: transport })
    const errors: SubwireError[] = []
    const seen: string[] = []
    const sub = subscribe(URL_, w.options({ transports: ['eventsource'], onError: (e) => errors.push(e), onMessage: (e) => seen.push(e.data) }))
    await tick()
    expect(sinks).toHaveLength(1)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(ConnectionError)
    expect(errors[0]!.cause).toBe(boom)
    expect(sub.state).toBe('reconnecting')
    // The backoff's wait, not connectTimeout's: the next attempt opens within the first delay.
    await tick(1500)
    expect(sinks).toHaveLength(2)
    // The sink of the attempt that threw is dead.
    sinks[0]!.open()
    sinks[0]!.event({ type: 'message', data: 'stale', id: '1', lastEventId: '1' })
    sinks[1]!.open()
    sinks[1]!.event({ type: 'message', data: 'a', id: '1', lastEventId: '1' })
    expect(seen).toEqual(['a'])
    sub.close()
  })

  it('a transport of your own that closes the subscription and then throws as it opens: closed, nothing reported after, nothing opened again', async () => {
    const { createSubscribe } = await import('../../src/core')
    let opened = 0
    let close = () => {}
    const transport = () => {
      opened++
      close()
      throw new Error('boom')
    }
    const subscribe = createSubscribe({ eventsource: transport })
    const errors: SubwireError[] = []
    const states: string[] = []
    const sub = subscribe(URL_, w.options({ transports: ['eventsource'], onError: (e) => errors.push(e), onStateChange: (s) => states.push(s.state) }))
    close = () => sub.close()
    await tick()
    await tick(60000)
    expect(opened).toBe(1)
    expect(sub.state).toBe('closed')
    expect(errors).toEqual([])
    expect(states.at(-1)).toBe('closed')
    expect(states.filter((s) => s === 'closed')).toHaveLength(1)
  })

  it('a server that replays the event it was asked to resume after does not double it', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const data: string[] = []
    sub.on('message', (e) => data.push(e.data))
    await tick()
    w.last().sink.open()
    w.last().sink.event({ type: 'message', data: 'a', id: '1', lastEventId: '1' })
    w.last().sink.event({ type: 'message', data: 'b', id: '2', lastEventId: '2' })
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(1000)
    // Resumed from 2, the server starts with 2 again (">=" instead of ">"), then goes on.
    expect(w.last().from).toBe('2')
    w.last().sink.event({ type: 'message', data: 'b', id: '2', lastEventId: '2' })
    w.last().sink.event({ type: 'message', data: 'c', id: '3', lastEventId: '3' })
    expect(data).toEqual(['a', 'b', 'c'])
    sub.close()
  })

  it.each(['longpoll', 'poll'] as const)('offline pauses %s at once (each poll is a new connection), and online resumes it', async (transport) => {
    const sub = w.subscribe(URL_, w.options({ transports: [transport] }))
    await tick()
    const c = w.last()
    c.sink.heartbeat()
    expect(sub.state).toBe('open')
    w.online = false
    w.fire('offline')
    expect(c.closed).toBe(true)
    expect(sub.state).toBe('reconnecting')
    await tick(60000)
    expect(w.connections).toHaveLength(1)
    w.online = true
    w.fire('online')
    await tick()
    expect(w.connections).toHaveLength(2)
    sub.close()
  })

  it("a server that cannot resume says so with a reset event: a 'reset' listener hears it, message listeners do not", async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], lastEventId: '5' }))
    const resets: unknown[] = []
    const data: string[] = []
    sub.on('reset', (info) => resets.push(info))
    sub.on('message', (e) => data.push(e.data))
    await tick()
    w.last().sink.event({ type: 'reset', data: '20', id: undefined, lastEventId: '5' })
    w.last().sink.event({ type: 'message', data: 'x', id: '21', lastEventId: '21' })
    expect(resets).toEqual([{ transport: 'websocket', lastEventId: '5' }])
    expect(data).toEqual(['x'])
    sub.close()
  })

  it("after the protocol's reset nothing is taken for a replay: a restarted server's ids start again, and its events are new even where id and data match ones delivered before", async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    let count = 0
    const resets: unknown[] = []
    sub.on('message', () => count++)
    sub.on('reset', (info) => resets.push(info))
    await tick()
    w.last().sink.open()
    for (let k = 1; k <= 3; k++) w.last().sink.event({ type: 'message', data: 'tick', id: String(k), lastEventId: String(k) })
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(1000)
    w.last().sink.open()
    w.last().sink.event({ type: 'reset', data: '0', id: undefined, lastEventId: '3' })
    for (let k = 1; k <= 3; k++) w.last().sink.event({ type: 'message', data: 'tick', id: String(k), lastEventId: String(k) })
    expect(resets).toHaveLength(1)
    expect(count).toBe(6)
    sub.close()
  })

  /** An open WebSocket subscription: what its 'reset' and 'message' listeners hear. */
  async function listening() {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    const resets: unknown[] = []
    const got: string[] = []
    sub.on('reset', (info) => resets.push(info))
    sub.on('message', (e) => got.push(`${e.type}:${e.data}`))
    await tick()
    w.last().sink.open()
    return { sub, resets, got }
  }

  it("an event named reset with an id, or in the middle of a stream, is the server's own event (the native object delivers it): message listeners get it, and nothing is said to be missing", async () => {
    const { sub, resets, got } = await listening()
    // With an id, even first on a connection.
    w.last().sink.event({ type: 'reset', data: 'first', id: '0', lastEventId: '0' })
    w.last().sink.event({ type: 'message', data: 'a', id: '1', lastEventId: '1' })
    w.last().sink.event({ type: 'reset', data: 'board cleared', id: '2', lastEventId: '2' })
    w.last().sink.event({ type: 'reset', data: 'again', id: undefined, lastEventId: '2' })
    expect(got).toEqual(['reset:first', 'message:a', 'reset:board cleared', 'reset:again'])
    expect(resets).toEqual([])
    expect(sub.lastEventId).toBe('2')
    sub.close()
  })

  it('on a stream without ids too, an event named reset after the first event is the server\'s own', async () => {
    const { sub, resets, got } = await listening()
    w.last().sink.event({ type: 'message', data: 'a', id: undefined, lastEventId: '' })
    w.last().sink.event({ type: 'reset', data: 'b', id: undefined, lastEventId: '' })
    expect(got).toEqual(['message:a', 'reset:b'])
    expect(resets).toEqual([])
    sub.close()
  })

  it("an event named reset without an id first on a connection that resumed from no id is the server's own (its state, sent first on every connection): nothing was asked that it could fail to resume", async () => {
    const { sub, resets, got } = await listening()
    w.last().sink.event({ type: 'reset', data: 'state 1', id: undefined, lastEventId: '' })
    w.last().sink.event({ type: 'message', data: 'a', id: undefined, lastEventId: '' })
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    await tick(1000)
    w.last().sink.open()
    w.last().sink.event({ type: 'reset', data: 'state 2', id: undefined, lastEventId: '' })
    expect(got).toEqual(['reset:state 1', 'message:a', 'reset:state 2'])
    expect(resets).toEqual([])
    sub.close()
  })

  it('an already-aborted signal still says closed, once listeners are attached', async () => {
    const controller = new AbortController()
    controller.abort()
    const sub = w.subscribe(URL_, w.options({ signal: controller.signal }))
    const states: string[] = []
    sub.on('state', (s) => states.push(s.state))
    await tick()
    expect(states).toEqual(['closed'])
    expect(w.connections).toHaveLength(0)
  })

  it('a timeout on the connection in use never comes from an older attempt', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], connectTimeout: 1000 }))
    sub.on('error', (e) => errors.push(e))
    await tick()
    const first = w.last()
    first.sink.close(new ConnectionError('refused', 'websocket', 1006))
    await tick(500)
    first.sink.close(new TimeoutError('late', 'websocket'))
    expect(errors).toHaveLength(1)
    sub.close()
  })
})

describe('side connections', () => {
  it('a probation check that comes due while a probe runs replaces the probe: one side connection at a time, none left after close()', async () => {
    // eventsource remembered from an earlier page: websocket, above it, is what a probe tries.
    w.storage.setItem(`subwire:${URL_}`, `eventsource ${Date.now() + 3_600_000}`)
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource', 'longpoll'], upgradeAfter: 5000 }))
    await tick()
    w.last('eventsource').sink.open() // accepted, then silent
    await tick(1500) // not proven within a moment: longpoll starts beside it
    expect(w.last().name).toBe('longpoll')
    await tick(8500) // connectTimeout, longpoll had nothing to say either: eventsource trusted, on probation
    expect(sub.state).toBe('open')
    await tick(5000) // upgradeAfter: a probe of websocket
    const probe = w.last()
    expect(probe.name).toBe('websocket')
    await tick(5000) // the probation re-check comes due while the probe runs
    expect(w.last().name).toBe('longpoll')
    expect(probe.closed).toBe(true)
    sub.close()
    expect(w.open()).toEqual([])
  })
})

describe('listener options, disposal and reconnect()', () => {
  const ev = (data: string, id: string) => ({ type: 'message', data, id, lastEventId: id })

  it("on(type, fn, { once: true }) hears one event; { signal } stops at abort; the unbind function is idempotent", async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    const once: string[] = []
    const untilAbort: string[] = []
    const always: string[] = []
    const controller = new AbortController()
    sub.on('message', (e) => once.push(e.data), { once: true })
    sub.on('message', (e) => untilAbort.push(e.data), { signal: controller.signal })
    const off = sub.on('message', (e) => always.push(e.data))
    await tick()
    const c = w.last('eventsource')
    c.sink.open()
    c.sink.event(ev('a', '1'))
    c.sink.event(ev('b', '2'))
    controller.abort()
    c.sink.event(ev('c', '3'))
    off()
    off()
    c.sink.event(ev('d', '4'))
    expect(once).toEqual(['a'])
    expect(untilAbort).toEqual(['a', 'b'])
    expect(always).toEqual(['a', 'b', 'c'])
    // A signal already aborted adds nothing.
    const late: string[] = []
    sub.on('message', (e) => late.push(e.data), { signal: AbortSignal.abort() })
    c.sink.event(ev('e', '5'))
    expect(late).toEqual([])
    sub.close()
  })

  it('Symbol.dispose closes the subscription (a `using` declaration) and its connection', async () => {
    const dispose = (Symbol as { dispose?: symbol }).dispose
    expect(dispose, 'this runtime has Symbol.dispose').toBeDefined()
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    const states: string[] = []
    sub.on('state', (change) => states.push(change.state))
    await tick()
    ;(sub as unknown as Record<symbol, () => void>)[dispose!]!()
    expect(states.at(-1)).toBe('closed')
    expect(w.last('eventsource').closed).toBe(true)
    await tick(60_000)
    expect(w.connections).toHaveLength(1)
  })

  it('reconnect() drops the connection now and opens a new one that resumes from the last id, with no backoff', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    await tick()
    const first = w.last('eventsource')
    first.sink.open()
    first.sink.event(ev('a', '7'))
    sub.reconnect()
    await tick()
    expect(first.closed).toBe(true)
    expect(w.connections).toHaveLength(2)
    expect(w.last('eventsource').from).toBe('7')
    sub.close()
    sub.reconnect() // after close: nothing
    await tick(60_000)
    expect(w.connections).toHaveLength(2)
  })
})

describe('configuration errors are thrown at once, naming the fix', () => {
  it('a relative URL where there is no page (SSR, Node), in both builds', () => {
    let thrown: unknown
    try {
      w.subscribe('/events', w.options({ env: { location: undefined } }))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(SubwireError)
    expect((thrown as SubwireError).kind).toBe('config')
    expectSaid(thrown, 'bad-url', /relative and there is no page.*subscribe in the browser only/)
  })

  it('a plain http:/ws: URL on an https: page (mixed content, which the browser blocks), in both builds; loopback allowed', () => {
    const page = { location: 'https://app.example.com/' }
    const thrown: unknown[] = []
    for (const [url, urls] of [
      ['http://push.example.com/events', undefined],
      ['https://push.example.com/events', { websocket: 'ws://push.example.com/ws' }],
    ] as const) {
      try {
        w.subscribe(url, w.options({ env: page, ...(urls && { urls }) }))
      } catch (error) {
        thrown.push(error)
      }
    }
    expect(thrown).toHaveLength(2)
    for (const error of thrown) {
      expect((error as SubwireError).kind).toBe('config')
      expectSaid(error, 'mixed-content', /blocks it as mixed content.*https:\/wss:/)
    }
    for (const url of ['http://localhost:8080/events', 'http://127.0.0.1/events', 'ws://[::1]/events', 'https://push.example.com/events']) {
      w.subscribe(url, w.options({ env: page })).close()
    }
  })

  it('a URL an error names is shown without its query and fragment, where tokens travel', () => {
    const thrown: SubwireError[] = []
    for (const [url, env] of [
      ['http://push.example.com/events?token=s3cret#s3cret', { location: 'https://app.example.com/' }],
      ['/events?token=s3cret', { location: undefined }],
    ] as const) {
      try {
        w.subscribe(url, w.options({ env }))
      } catch (error) {
        thrown.push(error as SubwireError)
      }
    }
    expect(thrown.map((e) => e.code)).toEqual(['mixed-content', 'bad-url'])
    for (const error of thrown) expect(`${error.message} ${String(error.stack)}`).not.toContain('s3cret')
    if (DEV) expect(thrown[0]!.message).toContain('"http://push.example.com/events"')
  })

  it('a ws:// URL given to an HTTP transport (development: thrown; production: nothing can run); alone it means WebSocket only', async () => {
    if (DEV) expect(() => w.subscribe('ws://localhost/events', w.options({ transports: ['eventsource'] }))).toThrowError(/eventsource transport needs an http\(s\): URL/)
    else {
      const states: string[] = []
      w.subscribe('ws://localhost/events', w.options({ transports: ['eventsource'], onStateChange: (s) => states.push(`${s.state}:${s.error?.code}`) }))
      await tick()
      expect(states).toEqual(['closed:unsupported'])
    }
    const sub = w.subscribe('ws://localhost/events', w.options())
    await tick()
    expect(w.connections.map((c) => c.name)).toEqual(['websocket'])
    sub.close()
  })

  it.each([
    [{ connectTimeout: -1 }, /connectTimeout must be a number ≥ 1/],
    [{ connectTimeout: 'soon' }, /connectTimeout must be a number/],
    [{ transports: [] }, /transports must be a list of/],
    [{ transports: ['carrier-pigeon'] }, /transports must be a list of/],
    [{ decode: 'xml' }, /decode must be one of text, json/],
    [{ retry: { factor: 0.5 } }, /retry.factor must be a number ≥ 1/],
    [{ retry: { initialDelay: NaN } }, /retry.initialDelay must be a number ≥ 0/],
    [{ maxIdLength: 0 }, /maxIdLength must be a number ≥ 1/],
    [{ lastEventId: 'a\nb' }, /lastEventId must hold no NUL, CR or LF/],
    [{ statuses: { 410: 'maybe' } }, /statuses must map HTTP statuses/],
    [{ urls: { pigeon: 'http://x' } }, /urls.pigeon is not a transport/],
    [{ parse: 'json' }, /parse must be a function/],
  ])('%j (development: thrown; production: taken as the default, never thrown)', async (options, message) => {
    if (DEV) return void expect(() => w.subscribe(URL_, w.options(options as never))).toThrowError(message)
    const sub = w.subscribe(URL_, w.options(options as never))
    await tick(60_000)
    sub.close()
    expect(w.open()).toEqual([])
  })

  it('bounds durations to what setTimeout can wait', async () => {
    const sub = w.subscribe(URL_, w.options({ connectTimeout: 1e12 }))
    await tick()
    await tick(1000)
    expect(w.last().closed).toBe(false)
    sub.close()
  })
})

describe('the development build speaks up; the production build stays quiet', () => {
  const console_ = () => ({ warn: vi.spyOn(console, 'warn').mockImplementation(() => {}), debug: vi.spyOn(console, 'debug').mockImplementation(() => {}) })
  afterEach(() => vi.restoreAllMocks())

  it('an error nobody listens for is told in the console once per subscription; with a listener, never', async () => {
    const { warn } = console_()
    const unheard = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    const heard = w.subscribe(URL_, w.options({ transports: ['eventsource'], onError: () => {} }))
    await tick()
    for (let i = 0; i < 3; i++) {
      for (const c of w.open()) c.sink.close(new ConnectionError(say('network'), 'eventsource'))
      await tick(60_000)
    }
    const told = warn.mock.calls.map((args) => String(args[0]))
    expect(told).toHaveLength(DEV ? 1 : 0)
    if (DEV) expect(told[0]).toMatch(/^subwire: .*network[\s\S]*nobody listens for errors/)
    unheard.close()
    heard.close()
  })

  it('a fatal close nobody hears is told; a fifth live subscription to one endpoint is told (a component that never closes its own)', async () => {
    const { warn } = console_()
    const piled = Array.from({ length: 5 }, () => w.subscribe(URL_, w.options({ transports: ['eventsource'], onError: () => {} })))
    const fatal = w.subscribe('http://localhost/other', w.options({ transports: ['eventsource'], onError: () => {} }))
    const silent = w.subscribe('http://localhost/gone', w.options({ transports: ['eventsource'] }))
    await tick()
    w.last('eventsource').sink.close(new HttpError(204, 'eventsource'))
    await tick()
    expect(silent.state).toBe('closed')
    const told = warn.mock.calls.map((args) => String(args[0]))
    if (DEV) {
      expect(told.filter((t) => /5 live subscriptions to http:\/\/localhost\/events/.test(t))).toHaveLength(1)
      expect(told.filter((t) => /closed for good: .*204/.test(t))).toHaveLength(1)
    } else expect(told).toEqual([])
    for (const sub of [...piled, fatal]) sub.close()
  })

  it('debug: true logs every decision as one readable line, and says when the transport came from memory', async () => {
    const { debug } = console_()
    w.storage.setItem(`subwire:${URL_}`, `longpoll ${Date.now() + 60_000}`)
    const sub = w.subscribe(URL_, w.options({ debug: true }))
    await tick()
    const lines = debug.mock.calls.map((args) => String(args[0]))
    if (DEV) expect(lines[0]).toBe('subwire: connect longpoll (the transport remembered for this endpoint)')
    else expect(lines).toEqual([])
    sub.close()
  })
})

describe('retryable says what happens to the transport that reported the error', () => {
  it('false (an HTML page): the next transport is tried and the subscription goes on; true (a drop after it worked): the same transport again', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], onError: (e) => errors.push(e) }))
    await tick()
    w.last().sink.close(new ProtocolError(say('html'), 'eventsource', false))
    await tick()
    expect(errors.at(-1)).toMatchObject({ code: 'html', retryable: false })
    expect(w.last().name).toBe('longpoll')
    expect(sub.state).not.toBe('closed')
    w.last().sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    w.last().sink.close(new ConnectionError(say('network'), 'longpoll'))
    await tick(2000)
    expect(errors.at(-1)).toMatchObject({ code: 'network', retryable: true })
    expect(w.last().name).toBe('longpoll')
    sub.close()
  })
})

/** A scripted native EventSource: each one made is in `sources`; `emit` dispatches an event. */
function fakeEventSources() {
  const sources: Array<InstanceType<typeof FakeEventSource>> = []
  class FakeEventSource extends EventTarget {
    onopen: ((event?: Event) => void) | null = null
    onerror: ((event?: Event) => void) | null = null
    readyState = 0
    closed = false
    constructor(readonly url: string) {
      super()
      sources.push(this)
    }
    close() {
      this.closed = true
    }
    /** A server event: a MessageEvent of its type (one named open or error reaches onopen or onerror too, as in a browser). */
    emit(type: string, data: string, lastEventId = '') {
      const event = Object.assign(new Event(type), { data, lastEventId })
      if (type === 'open' || type === 'error') this[`on${type}`]?.(event as never)
      this.dispatchEvent(event)
    }
  }
  return { sources, FakeEventSource }
}

describe('the page storage (env.storage)', () => {
  const withLocalStorage = (get: () => unknown, run: () => void) => {
    const before = Object.getOwnPropertyDescriptor(globalThis, 'localStorage')
    Object.defineProperty(globalThis, 'localStorage', { get, configurable: true })
    try {
      run()
    } finally {
      if (before) Object.defineProperty(globalThis, 'localStorage', before)
      else delete (globalThis as { localStorage?: unknown }).localStorage
    }
  }

  it('is opened on first use, not when a subscription starts (the first read of localStorage opens the page storage)', async () => {
    const { resolveEnv } = await import('../../src/env')
    const map = new Map<string, string>()
    let reads = 0
    const local = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) }
    withLocalStorage(
      () => (reads++, local),
      () => {
        const env = resolveEnv()
        expect(reads).toBe(0)
        env.storage.setItem('k', 'v')
        expect(env.storage.getItem('k')).toBe('v')
        expect(map.get('k')).toBe('v')
        expect(reads).toBe(1)
      },
    )
  })

  it('where reading localStorage throws (blocked), lives in the page', async () => {
    const { resolveEnv } = await import('../../src/env')
    withLocalStorage(
      () => {
        throw new Error('SecurityError')
      },
      () => {
        const env = resolveEnv()
        env.storage.setItem('k', 'v')
        expect(env.storage.getItem('k')).toBe('v')
      },
    )
  })
})

describe('the wall clock set back', () => {
  it('a drop followed by the wall clock set back an hour reconnects after its delay, not an hour later', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'] }))
    await tick()
    w.last().sink.open()
    w.last().sink.event({ type: 'message', data: 'a', id: '1', lastEventId: '1' })
    w.last().sink.close(new ConnectionError('dropped', 'websocket', 1006))
    vi.setSystemTime(Date.now() - 3_600_000)
    await tick(2000)
    expect(w.connections).toHaveLength(2)
    expect(w.last().from).toBe('1')
    sub.close()
  })

  it('a connection silent past heartbeatTimeout after the clock was set back is still replaced on time', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket'], heartbeatTimeout: 5000 }))
    await tick()
    const first = w.last()
    first.sink.open()
    // Two heartbeats: a cadence, so silence is watched.
    first.sink.heartbeat()
    await tick(1000)
    first.sink.heartbeat()
    vi.setSystemTime(Date.now() - 3_600_000)
    await tick(6000)
    expect(first.closed).toBe(true)
    await tick(35000)
    expect(w.connections.length).toBeGreaterThanOrEqual(2)
    sub.close()
  })
})
