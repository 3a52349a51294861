// Model-based test of the lifecycle: random sequences of everything a network, a server and a page
// can do (opens, heartbeats, events, hints, drops with every error kind, HTTP statuses with and
// without Retry-After, page events, time jumps, reconnect(), close()), driven against scripted
// transports with fake timers. After every step the invariants must hold. The seed is printed
// when a run fails; SUBWIRE_SEED=<n> replays one.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_TIMER } from '../../src/backoff'
import { ConnectionError, HttpError, ProtocolError, TimeoutError, type StateChange, type SubwireError, type Subscription } from '../../src/index'
import { URL_, world, type FakeConnection, type World } from '../fixtures/fake'

const STEPS = 10000

function rng(seed: number) {
  let s = seed % 2147483647 || 1
  return () => (s = (s * 16807) % 2147483647) / 2147483647
}

afterEach(() => {
  vi.useRealTimers()
})

async function run(seed: number, steps: number): Promise<{ delivered: number; subscriptions: number; connections: number }> {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  const random = rng(seed)
  const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const w: World = world({ longpoll: 61000 })
  /** The server's next id: every event has the id of its position, so order and duplicates are visible. */
  const position = new Map<FakeConnection, number>()
  let newest = 0
  let delivered = 0
  let subscriptions = 0
  let lastSeen = 0
  let lastResume = 0
  let sub!: Subscription
  let closed = false
  let afterClose: string[] = []
  const attemptsAt: number[] = []
  let known = 0

  const problems: string[] = []
  const check = (ok: boolean, what: string) => ok || problems.push(what)
  // The last things that happened, printed with a failure.
  const recent: string[] = []
  const note = (what: string) => recent.push(what) > 400 && recent.shift()

  function start(): void {
    subscriptions++
    closed = false
    const from = lastSeen ? String(lastSeen) : ''
    sub = w.subscribe(
      URL_,
      w.options({
        transports: pick([['websocket', 'eventsource', 'longpoll', 'poll'], ['eventsource', 'longpoll'], ['websocket'], ['longpoll', 'poll']]) as never,
        lastEventId: from,
        upgradeAfter: pick([0, 5000, 60000]),
        heartbeatTimeout: pick([0, 3000, 45000]),
        retry: { initialDelay: pick([0, 100, 1000]), maxDelay: 30000, maxAttempts: pick([Infinity, 50]) },
        pauseWhenHidden: random() < 0.3,
        log: (record) => note(`  log ${record.type} ${record.transport ?? ''} ${record.delay ?? ''} ${record.error?.message ?? ''}`),
      }),
    )
    const mine = sub
    mine.on('message', (event) => {
      if (closed) afterClose.push(`event ${event.id}`)
      const id = Number(event.id)
      check(id === lastSeen + 1, `event ${event.id} after ${lastSeen}: ${id <= lastSeen ? 'a duplicate or out of order' : 'a gap'}`)
      lastSeen = Math.max(lastSeen, id)
      delivered++
    })
    mine.on('state', (change: StateChange) => {
      if (change.state === 'closed') closed = true
      if (change.state !== 'reconnecting' || change.delay === undefined) return
      check(change.delay >= 0 && change.delay <= MAX_TIMER, `delay ${change.delay} out of bounds`)
      const hint = (change.error as HttpError | undefined)?.retryAfter
      const auth = change.error instanceof HttpError && (change.error.status === 401 || change.error.status === 403)
      if (hint !== undefined && !auth) check(change.delay >= hint, `delay ${change.delay} below the server's hint ${hint}`)
    })
  }

  function randomError(name: FakeConnection['name']): SubwireError | undefined {
    const hint = pick([undefined, undefined, 0, 500, 3000, 3600000])
    switch (pick(['clean', 'connection', 'http', 'timeout', 'protocol'])) {
      case 'clean':
        return undefined
      case 'connection':
        return new ConnectionError('dropped', name, pick([1006, 1011, 1012, 1013]), undefined, hint)
      case 'http':
        return new HttpError(pick([204, 400, 401, 403, 404, 408, 410, 429, 500, 502, 503]), name, hint)
      case 'timeout':
        return new TimeoutError('silent', name)
      default:
        return new ProtocolError('wrong content type', name, false)
    }
  }

  start()
  for (let step = 0; step < steps && !problems.length; step++) {
    const live = w.open()
    const r = random()
    if (r < 0.25) {
      const ms = pick([0, 1, 50, 500, 3000, 11000, 70000])
      note(`step ${step}: tick ${ms}`)
      await vi.advanceTimersByTimeAsync(ms)
    } else if (r < 0.75 && live.length) {
      const c = pick(live)
      if (!position.has(c)) position.set(c, Number(c.from || 0))
      const action = random()
      note(`step ${step}: ${c.name}#${w.connections.indexOf(c)} action ${action.toFixed(2)}`)
      if (action < 0.15) c.sink.open(random() < 0.1 ? { proven: true } : undefined)
      else if (action < 0.3) c.sink.heartbeat()
      else if (action < 0.6) {
        // The server replays from where this connection started, then goes on live.
        const next = position.get(c)! + 1
        position.set(c, next)
        newest = Math.max(newest, next)
        c.sink.event({ type: 'message', data: String(next), id: String(next), lastEventId: String(next) })
      } else if (action < 0.65) c.sink.retry(pick([0, 10, 2000, 3600000]))
      else if (action < 0.7) c.sink.warn(new ProtocolError('frame dropped', c.name))
      else c.sink.close(randomError(c.name))
    } else if (r < 0.85) {
      const event = pick(['offline', 'online', 'hidden', 'visible', 'pagehide', 'pageshow', 'freeze', 'resume'])
      note(`step ${step}: page ${event}`)
      if (event === 'offline') w.online = false
      if (event === 'online') w.online = true
      if (event === 'hidden' || event === 'visible') w.hidden = event === 'hidden'
      w.fire(event === 'hidden' || event === 'visible' ? 'visibilitychange' : event)
    } else if (r < 0.9) {
      vi.setSystemTime(Date.now() + pick([1000, 120000, 600000]))
    } else if (r < 0.93) {
      note(`step ${step}: reconnect()`)
      sub.reconnect()
    } else if (r < 0.95 || closed) {
      note(`step ${step}: close() and start again`)
      sub.close()
      check(closed, 'close() did not close')
      check(w.open().length === 0, `${w.open().length} transports left open after close()`)
      check(vi.getTimerCount() === 0, `${vi.getTimerCount()} timers left after close()`)
      check(w.page.live === 0, `${w.page.live} page listeners left after close()`)
      w.online = true
      w.hidden = false
      start()
    }
    // Invariants after every step.
    check(w.open().length <= 2, `${w.open().length} live transports (at most one, plus one probe or check)`)
    const resume = Number(sub.lastEventId || 0)
    check(resume >= lastResume || subscriptions > 1, `resume id moved back from ${lastResume} to ${resume}`)
    lastResume = Math.max(lastResume, resume)
    check(afterClose.length === 0, `delivered after close: ${afterClose.join(', ')}`)
    afterClose = []
    // No storm: attempts within the last second of fake time stay few.
    // Attempts are stamped when they were made (a step may span minutes of fake time): for each
    // new one, count those within the second before it.
    for (; known < w.connections.length; known++) {
      const at = w.connections[known]!.at
      attemptsAt.push(at)
      note(`  created ${w.connections[known]!.name}#${known} from ${w.connections[known]!.from}`)
      const within = attemptsAt.filter((t) => t > at - 1000 && t <= at).length
      check(within <= 12, `${within} connection attempts within one second`)
    }
    while (attemptsAt.length > 200) attemptsAt.shift()
  }
  sub!.close()
  check(w.open().length === 0 && vi.getTimerCount() === 0 && w.page.live === 0, 'something left behind at the end')
  if (problems.length) throw new Error(`seed ${seed}: ${problems[0]}\n${recent.join('\n')}\nopen: ${w.open().map((c) => `${c.name}#${w.connections.indexOf(c)}`)}`)
  return { delivered, subscriptions, connections: w.connections.length }
}

describe('model-based lifecycle', () => {
  const seeds = process.env.SUBWIRE_SEED ? [Number(process.env.SUBWIRE_SEED)] : [1, 2, 3, 4, Date.now() % 1e9]
  it.each(seeds)('keeps every invariant over %i-seeded random sequences', async (seed) => {
    const result = await run(seed, STEPS)
    // The runs exercise something real: events flow, subscriptions come and go.
    expect(result.delivered).toBeGreaterThan(100)
    expect(result.connections).toBeGreaterThan(100)
    console.log(`seed ${seed}: ${STEPS} steps, ${result.delivered} events, ${result.subscriptions} subscriptions, ${result.connections} connections`)
  }, 60000)
})
