// Negotiation and liveness with fake timers, an injected clock, randomness, page events and
// storage: the attempt counter, offline/online, visibility, back/forward cache, a wall-clock jump,
// the remembered transport, the background probe, a buffering proxy and the auth refresh.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { http, HttpResponse } from 'msw'
import { subscribe, HttpError, type StateChange, type SubscribeOptions, type SubwireError } from '../../src/index'
import { URL_, useNetwork } from '../fixtures/network'
import { expectSaid } from '../fixtures/said'

const server = useNetwork()

/** A WebSocket the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = []
  binaryType = 'blob'
  closed: number | undefined
  onopen: ((event: Event) => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: ((event: { code: number; reason: string }) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  open() {
    this.onopen?.(new Event('open'))
  }
  send(data: string) {
    this.onmessage?.({ data })
  }
  drop(code = 1006, reason = '') {
    this.onclose?.({ code, reason })
  }
  close(code: number) {
    this.closed = code
  }
  get resumeId() {
    return new URL(this.url).searchParams.get('lastEventId')
  }
}

function memoryStorage() {
  const map = new Map<string, string>()
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) }
}

let page: EventTarget
let online: boolean
let hidden: boolean
let storage: ReturnType<typeof memoryStorage>

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  FakeSocket.all = []
  page = new EventTarget()
  online = true
  hidden = false
  storage = memoryStorage()
})

const last = () => FakeSocket.all[FakeSocket.all.length - 1]!

function start(options: SubscribeOptions = {}) {
  const sub = subscribe(URL_, {
    transports: ['websocket'],
    retry: { initialDelay: 1000, maxDelay: 30000, factor: 2, resetAfter: 5000 },
    share: false,
    ...options,
    env: {
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      random: () => 0.5,
      window: page,
      online: () => online,
      hidden: () => hidden,
      storage,
      ...options.env,
    },
  })
  const states: StateChange[] = []
  const errors: SubwireError[] = []
  const events: string[] = []
  sub.on('state', (s) => states.push(s))
  sub.on('error', (e) => errors.push(e))
  sub.on('message', (e) => events.push(`${e.data}@${e.transport}`))
  return { sub, states, errors, events }
}

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms)

describe('attempt counter and backoff', () => {
  it('grows while connections bring nothing new, and follows the server again after one that made progress', async () => {
    const { sub, states } = start()
    await tick()
    const delays = () => states.filter((s) => s.state === 'reconnecting').map((s) => s.delay)
    // Three connections that open, greet and die within a second, nothing new: no storm.
    for (let i = 0; i < 3; i++) {
      last().open()
      last().send(': hi\n\n')
      await tick(500)
      last().drop()
      await tick(states.at(-1)!.delay!)
    }
    expect(delays()).toEqual([500, 1000, 2000])
    // One that delivers new events, however short: the next retry is quick again.
    last().open()
    last().send('id: 1\ndata: y\n\nid: 2\ndata: z\n\n')
    await tick(100)
    last().drop()
    expect(delays().at(-1)).toBe(500)
    expect(states.filter((s) => s.state === 'connecting').map((s) => s.attempt)).toEqual([0, 1, 2, 3])
    sub.close()
  })

  it('a connection that delivers one new event counts as progress when the server paces reconnects a second apart, not when it asks for less', async () => {
    const { sub, states } = start()
    await tick()
    const delays = () => states.filter((s) => s.state === 'reconnecting').map((s) => s.delay)
    // The classic one event per response, retry: 1000: each reconnect waits the server's second.
    for (let i = 1; i <= 3; i++) {
      last().open()
      last().send(`retry: 1000\nid: ${i}\ndata: x\n\n`)
      last().drop(1000)
      await tick(states.at(-1)!.delay!)
    }
    expect(delays()).toEqual([1063, 1063, 1063])
    // retry: 0 after a single event each time: a reconnect loop, so it climbs.
    for (let i = 4; i <= 6; i++) {
      last().open()
      last().send(`retry: 0\nid: ${i}\ndata: x\n\n`)
      last().drop(1000)
      await tick(states.at(-1)!.delay!)
    }
    // (The first counts from the last paced reconnect: 2 s, plus half of it as jitter.)
    expect(delays().slice(3)).toEqual([2000 + 500, 4000 + 1000, 8000 + 2000])
    sub.close()
  })

  it('one event per held response with retry: 0 (long polling over SSE) comes back at once, as the native object does: a held connection is no loop', async () => {
    const { sub, states, events } = start()
    await tick()
    for (let i = 1; i <= 4; i++) {
      last().open()
      // The server holds the request until it has an event, two seconds here.
      await tick(2000)
      last().send(`retry: 0\nid: ${i}\ndata: x${i}\n\n`)
      last().drop(1000)
      await tick(states.at(-1)!.delay!)
    }
    expect(states.filter((s) => s.state === 'reconnecting').map((s) => s.delay)).toEqual([0, 0, 0, 0])
    expect(events).toEqual(['x1@websocket', 'x2@websocket', 'x3@websocket', 'x4@websocket'])
    sub.close()
  })

  it('one event at once with retry: 0 climbs the curve even when every connection takes seconds to be answered (a slow network does not make a loop look held)', async () => {
    const { sub, states } = start()
    await tick()
    for (let i = 1; i <= 3; i++) {
      // The answer takes 1.5 s to come (a loaded network), then the event at once and the end.
      await tick(1500)
      last().open()
      last().send(`retry: 0\nid: ${i}\ndata: x${i}\n\n`)
      last().drop(1000)
      await tick(states.at(-1)!.delay!)
    }
    const delays = states.filter((s) => s.state === 'reconnecting').map((s) => s.delay!)
    expect(delays[1]).toBeGreaterThanOrEqual(2000)
    expect(delays[2]).toBeGreaterThan(delays[1]!)
    sub.close()
  })

  it('without ids, one event per connection is progress only when its data is new: the same data again and again (a greeting, what the server holds) climbs', async () => {
    const { sub, states, events } = start()
    await tick()
    for (let i = 1; i <= 3; i++) {
      last().open()
      last().send('data: hello\n\n')
      last().drop(1006)
      await tick(states.at(-1)!.delay!)
    }
    expect(states.filter((s) => s.state === 'reconnecting').map((s) => s.delay)).toEqual([500, 1000, 2000])
    // Delivered every time all the same: the same value may come again for real.
    expect(events).toEqual(['hello@websocket', 'hello@websocket', 'hello@websocket'])
    sub.close()
  })

  it('one event per response without ids (the tutorial server) follows the server as the native EventSource does: its retry, or a quick return without one', async () => {
    const { sub, states, events } = start()
    await tick()
    const delays = () => states.filter((s) => s.state === 'reconnecting').map((s) => s.delay)
    // retry: 10000, one new event, the end: each reconnect waits the server's 10 s (plus an eighth at most).
    for (let i = 1; i <= 3; i++) {
      last().open()
      last().send(`retry: 10000\ndata: x${i}\n\n`)
      last().drop(1000)
      await tick(states.at(-1)!.delay!)
    }
    expect(delays()).toEqual([10625, 10625, 10625])
    // No retry field: the connection made progress all the same; the next wait is quick, never sooner
    // than half a second after the last connect, and the count does not climb (the first retry each time).
    const fresh = start()
    await tick()
    for (let i = 1; i <= 4; i++) {
      last().open()
      last().send(`data: y${i}\n\n`)
      last().drop(1000)
      await tick(fresh.states.at(-1)!.delay!)
    }
    expect(fresh.states.filter((s) => s.state === 'reconnecting').map((s) => [s.delay, s.attempt])).toEqual([[500, 1], [500, 1], [500, 1], [500, 1]])
    expect(events).toEqual(['x1@websocket', 'x2@websocket', 'x3@websocket'])
    expect(fresh.events).toEqual(['y1@websocket', 'y2@websocket', 'y3@websocket', 'y4@websocket'])
    sub.close()
    fresh.sub.close()
  })

  it('reports connecting (transport, attempt) → open → reconnecting (attempt, delay, error) → closed', async () => {
    const { sub, states } = start()
    await tick()
    last().open()
    // 'open' means proven: the socket opened and delivered something (here a heartbeat comment).
    last().send(': hi\n\n')
    last().drop(1011, 'oops')
    sub.close()
    expect(states.map((s) => [s.state, s.transport, s.attempt, s.delay, s.error?.name])).toEqual([
      ['connecting', 'websocket', 0, undefined, undefined],
      ['open', 'websocket', 0, undefined, undefined],
      ['reconnecting', 'websocket', 1, 500, 'ConnectionError'],
      ['closed', 'websocket', 1, undefined, undefined],
    ])
  })

  it('waits the WebSocket 1013 reason in seconds, plus jitter, and 1012 about a second, growing when it repeats', async () => {
    const { sub, states } = start()
    await tick()
    last().open()
    last().send('data: x\n\n')
    last().drop(1013, '7')
    expect(states.at(-1)!.delay).toBe(7000 + 0.5 * 3500)
    await tick(9000)
    last().open()
    last().send('data: x\n\n')
    last().drop(1012)
    // The second failure in a row (the connection lived for less than resetAfter): the server's
    // 1 s grows as the policy does, to 2 s, plus jitter.
    expect(states.at(-1)!.delay).toBe(2000 + 0.5 * 1000)
    sub.close()
  })
})

describe('page lifecycle', () => {
  it('offline: stops attempting and waits; online: reconnects at once', async () => {
    const { sub, states } = start()
    await tick()
    last().open()
    last().send('id: 3\ndata: x\n\n')
    online = false
    page.dispatchEvent(new Event('offline'))
    // An open connection is kept; when it dies, nothing is attempted while offline.
    expect(sub.state).toBe('open')
    last().drop()
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', waitingFor: 'online' })
    const sockets = FakeSocket.all.length
    await tick(600000)
    expect(FakeSocket.all.length).toBe(sockets)
    online = true
    page.dispatchEvent(new Event('online'))
    await tick()
    expect(FakeSocket.all.length).toBe(sockets + 1)
    expect(last().resumeId).toBe('3')
    sub.close()
  })

  it('starts waiting when the page is offline from the start', async () => {
    online = false
    const { sub, states } = start()
    await tick(60000)
    expect(FakeSocket.all).toHaveLength(0)
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', waitingFor: 'online' })
    online = true
    page.dispatchEvent(new Event('online'))
    await tick()
    expect(FakeSocket.all).toHaveLength(1)
    sub.close()
  })

  it('keeps the connection while hidden by default, and retries at once when visible again', async () => {
    const { sub, states } = start()
    await tick()
    last().open()
    hidden = true
    page.dispatchEvent(new Event('visibilitychange'))
    expect(last().closed).toBeUndefined()
    last().drop()
    expect(states.at(-1)!.state).toBe('reconnecting')
    const sockets = FakeSocket.all.length
    hidden = false
    page.dispatchEvent(new Event('visibilitychange'))
    await tick()
    expect(FakeSocket.all.length).toBe(sockets + 1)
    sub.close()
  })

  it('pauseWhenHidden: closes while hidden and resumes from the last id when visible', async () => {
    const { sub, states } = start({ pauseWhenHidden: true })
    await tick()
    last().open()
    last().send('id: 9\ndata: x\n\n')
    hidden = true
    page.dispatchEvent(new Event('visibilitychange'))
    expect(last().closed).toBe(1000)
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', waitingFor: 'visible' })
    await tick(600000)
    expect(FakeSocket.all).toHaveLength(1)
    hidden = false
    page.dispatchEvent(new Event('visibilitychange'))
    await tick()
    expect(FakeSocket.all).toHaveLength(2)
    expect(last().resumeId).toBe('9')
    sub.close()
  })

  it('releases the connection on pagehide and resumes on pageshow (back/forward cache)', async () => {
    const { sub, states } = start()
    await tick()
    last().open()
    last().send('id: 4\ndata: x\n\n')
    page.dispatchEvent(new Event('pagehide'))
    expect(last().closed).toBe(1000)
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', waitingFor: 'pageshow' })
    page.dispatchEvent(new Event('pageshow'))
    await tick()
    expect(FakeSocket.all).toHaveLength(2)
    expect(last().resumeId).toBe('4')
    sub.close()
  })

  it('replaces a connection at once after a wall-clock jump (the laptop slept)', async () => {
    const { sub } = start({ heartbeatTimeout: 0 })
    await tick()
    last().open()
    last().send('id: 5\ndata: x\n\n')
    // Ordinary minutes pass with timers on time: nothing happens.
    await tick(120000)
    expect(FakeSocket.all).toHaveLength(1)
    // The machine sleeps for ten minutes: the clock jumps, timers did not run.
    vi.setSystemTime(Date.now() + 600000)
    await tick(10000)
    expect(FakeSocket.all).toHaveLength(2)
    expect(FakeSocket.all[0]!.closed).toBe(1000)
    expect(last().resumeId).toBe('5')
    sub.close()
  })

  it('replaces a connection silent for heartbeatTimeout, counted from its last activity, with one timer', async () => {
    const { sub, errors } = start({ heartbeatTimeout: 1000 })
    await tick()
    last().open()
    // The server sends heartbeats (a greeting, then one more a second later): from now on silence means a dead connection.
    last().send(': heartbeat\n\n')
    await tick(1000)
    last().send(': heartbeat\n\n')
    last().send('id: 0\ndata: x\n\n')
    const armed = vi.getTimerCount()
    // Activity every 600 ms keeps it alive, and adds no timers.
    for (let i = 1; i <= 5; i++) {
      await tick(600)
      last().send(`id: ${i}\ndata: x\n\n`)
      expect(vi.getTimerCount()).toBe(armed)
    }
    expect(FakeSocket.all).toHaveLength(1)
    // Then silence: replaced 1000 ms after the last event, not earlier.
    await tick(999)
    expect(FakeSocket.all[0]!.closed).toBeUndefined()
    await tick(1)
    expect(FakeSocket.all[0]!.closed).toBe(1000)
    expect(errors.map((e) => e.kind)).toEqual(['timeout'])
    expectSaid(errors[0], 'silent', /heartbeatTimeout/)
    await tick(1000)
    expect(last().resumeId).toBe('5')
    sub.close()
  })

  it('removes its page listeners on close', async () => {
    const added: string[] = []
    const removed: string[] = []
    page.addEventListener = (type: string) => void added.push(type)
    page.removeEventListener = (type: string) => void removed.push(type)
    const { sub } = start()
    await tick()
    sub.close()
    expect(added.sort()).toEqual(['freeze', 'offline', 'online', 'pagehide', 'pageshow', 'resume', 'visibilitychange'])
    expect(removed.sort()).toEqual(added.sort())
  })
})

describe('negotiation', () => {
  /**
   * A long-poll server with a replay log: a request answers at once with the events after its
   * lastEventId, else holds for 20 s and answers 204. `publish` adds an event and wakes held polls.
   */
  function longpollServer(initial: Array<[string, string]> = [['1', 'a'], ['2', 'b']]) {
    const log = [...initial]
    const ids: Array<string | null> = []
    const waiting = new Set<() => void>()
    const after = (last: string | null) => log.slice(last ? log.findIndex(([id]) => id === last) + 1 : 0)
    server.use(
      http.get(URL_, async ({ request }) => {
        const last = new URL(request.url).searchParams.get('lastEventId')
        ids.push(last)
        if (!after(last).length) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 20000)
            waiting.add(() => {
              clearTimeout(timer)
              resolve()
            })
          })
        }
        const batch = after(last)
        if (!batch.length) return new HttpResponse(null, { status: 204 })
        return new HttpResponse(batch.map(([id, data]) => `id: ${id}\ndata: ${data}\n\n`).join(''), {
          headers: { 'content-type': 'text/event-stream' },
        })
      }),
    )
    return {
      ids,
      publish(id: string, data: string) {
        log.push([id, data])
        for (const wake of waiting) wake()
        waiting.clear()
      },
    }
  }

  it('falls back when the WebSocket opens but stays silent while the next transport delivers, and remembers it', async () => {
    longpollServer()
    const { sub, states, events } = start({ transports: ['websocket', 'longpoll'], connectTimeout: 3000 })
    await tick()
    last().open()
    // Not proven within a moment: long polling starts beside it, and delivers first.
    await tick(1500)
    await vi.waitFor(() => expect(events).toEqual(['a@longpoll', 'b@longpoll']))
    // The WebSocket never proved itself, so it never was 'open'.
    expect(states.map((s) => `${s.state}:${s.transport}`).slice(0, 2)).toEqual(['connecting:websocket', 'open:longpoll'])
    // Its own copy of those events may be a moment behind: it stays on as a probe for RACE ms…
    expect(storage.map.get('subwire:http://localhost/events')).toBeUndefined()
    expect(last().closed).toBeUndefined()
    // …and silent all that time while long polling delivered: starved, closed, long polling remembered.
    await tick(1500)
    expect(last().closed).toBe(1000)
    expect(storage.map.get('subwire:http://localhost/events')).toMatch(/^longpoll \d+$/)
    sub.close()
  })

  it('starts on the remembered transport, then probes the better one and moves up once both delivered the same event', async () => {
    storage.setItem('subwire:http://localhost/events', `longpoll ${Date.now() + 3600000}`)
    const lp = longpollServer()
    const { sub, states, events } = start({ transports: ['websocket', 'longpoll'], upgradeAfter: 60000 })
    await tick()
    expect(states[0]).toMatchObject({ state: 'connecting', transport: 'longpoll' })
    await vi.waitFor(() => expect(events).toHaveLength(2))
    expect(FakeSocket.all).toHaveLength(0)
    await tick(60000)
    // The probe: a WebSocket on the side, from the last id; the long poll goes on meanwhile.
    expect(FakeSocket.all).toHaveLength(1)
    const probe = last()
    expect(probe.resumeId).toBe('2')
    probe.open()
    probe.send(': heartbeat\n\n')
    expect(sub.transport).toBe('longpoll')
    // A live event reaches both: the probe carries the same stream, with ids.
    lp.publish('3', 'c')
    await vi.waitFor(() => expect(events).toHaveLength(3))
    probe.send('id: 3\ndata: c\n\n')
    expect(probe.closed).toBe(1000)
    await tick()
    expect(FakeSocket.all).toHaveLength(2)
    expect(last().resumeId).toBe('3')
    last().open()
    last().send('id: 4\ndata: d\n\n')
    expect(events).toEqual(['a@longpoll', 'b@longpoll', 'c@longpoll', 'd@websocket'])
    expect(sub.transport).toBe('websocket')
    sub.close()
  })

  it('a failed probe changes nothing and waits twice as long for the next', async () => {
    storage.setItem('subwire:http://localhost/events', `longpoll ${Date.now() + 3600000}`)
    longpollServer()
    const { sub, events } = start({ transports: ['websocket', 'longpoll'], upgradeAfter: 60000 })
    await tick()
    await vi.waitFor(() => expect(events).toHaveLength(2))
    await tick(60000)
    last().drop()
    expect(sub.transport).toBe('longpoll')
    await tick(119000)
    expect(FakeSocket.all).toHaveLength(1)
    await tick(1000)
    expect(FakeSocket.all).toHaveLength(2)
    sub.close()
  })

  it('ignores an expired memory', async () => {
    storage.setItem('subwire:http://localhost/events', `longpoll ${Date.now() - 1}`)
    const { sub, states } = start({ transports: ['websocket', 'longpoll'] })
    await tick()
    expect(states[0]).toMatchObject({ transport: 'websocket' })
    sub.close()
  })

  it('steps down from a buffered SSE stream to long polling', async () => {
    const encoder = new TextEncoder()
    let streams = 0
    server.use(
      http.get(URL_, ({ request }) => {
        // (A stream asks with Accept: text/event-stream; a long poll says so in the query.)
        if (!new URL(request.url).searchParams.has('transport')) {
          streams++
          // What a buffering proxy lets through: heartbeats and events held back, then released together.
          return new HttpResponse(
            new ReadableStream({
              async start(controller) {
                controller.enqueue(encoder.encode(': heartbeat 1000\n\nid: 1\ndata: a\n\n: heartbeat\n\n'))
                await new Promise((r) => setTimeout(r, 3000))
                controller.enqueue(encoder.encode(': heartbeat\n\nid: 2\ndata: b\n\n: heartbeat\n\n: heartbeat\n\n'))
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          )
        }
        return new HttpResponse('id: 3\ndata: c\n\n', { headers: { 'content-type': 'text/event-stream' } })
      }),
    )
    const { sub, errors, events } = start({ transports: ['eventsource', 'longpoll'] })
    await tick(3000)
    await vi.waitFor(() => expect(events.slice(0, 3)).toEqual(['a@eventsource', 'b@eventsource', 'c@longpoll']))
    expect(errors.map((e) => e.kind)).toContain('buffered')
    expect(streams).toBe(1)
    expect(storage.map.get('subwire:http://localhost/events')).toMatch(/^longpoll /)
    sub.close()
  })

  it('asks the providers again on a 403 and closes when the fresh token is refused too', async () => {
    let calls = 0
    server.use(http.get(URL_, () => new HttpResponse('no', { status: 403 })))
    const { sub, errors, states } = start({
      transports: ['longpoll'],
      headers: () => ({ authorization: `Bearer ${++calls}` }),
    })
    await tick()
    await vi.waitFor(() => expect(sub.state).toBe('closed'))
    expect(calls).toBe(2)
    expect(errors.map((e) => (e as HttpError).status)).toEqual([403, 403])
    expect(states.at(-1)!.error).toBeInstanceOf(HttpError)
    expectSaid(states.at(-1)!.error, 'http', 'longpoll: HTTP 403 (check the token in headers or query)')
  })

  it('closes with the 404 when every transport answers it', async () => {
    server.use(http.get(URL_, () => new HttpResponse('no', { status: 404 })))
    const { sub, states } = start({ transports: ['eventsource', 'longpoll', 'poll'] })
    await tick()
    await vi.waitFor(() => expect(sub.state, JSON.stringify(states)).toBe('closed'))
    expect(states.filter((s) => s.state === 'connecting').map((s) => s.transport)).toEqual(['eventsource', 'longpoll', 'poll'])
    expectSaid(states.at(-1)!.error, 'http', 'poll: HTTP 404 (no stream here: check url, give this transport its own with urls, or leave it out of transports)')
  })
})
