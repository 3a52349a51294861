// The state machine as a pure function (src/machine.ts): no timers, no transports, no page — a
// state, an input and a context in, the next state and effects out. The decision table of
// docs/transports-and-reconnect.md is run row by row against it, and a model test drives it with
// hundreds of thousands of random inputs, checking its invariants after every step.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { initial, step, type Ctx, type Effect, type Input, type State } from '../../src/machine'
import { resolveOptions } from '../../src/options'
import { sides } from '../../src/sides'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError, type SubscribeOptions, type TransportName } from '../../src/index'
import type { Transport } from '../../src/core'

const noop = (() => ({ close() {} })) as unknown as Transport
const IMPLEMENTATIONS = { websocket: noop, eventsource: noop, longpoll: noop, poll: noop }
const ENV = {
  WebSocket: class {} as never,
  EventSource: class {} as never,
  fetch: (() => Promise.reject(new Error('no network'))) as never,
  location: 'http://localhost/app',
  window: undefined,
  storage: { getItem: () => null, setItem() {} },
  locks: undefined,
  BroadcastChannel: undefined,
}

interface Harness {
  now: number
  online: boolean
  hidden: boolean
  worked: boolean
  state: State
  effects: Effect[]
  ctx(): Ctx
  feed(input: Input): Effect[]
  advance(ms?: number): Effect[]
  readonly main: State['main']
  name(index?: number): TransportName | undefined
  prove(): void
  end(error?: SubwireError): Effect[]
}

/** A machine driven by hand: the effects of each input, the time moved on explicitly. */
function machine(options: SubscribeOptions = {}, { withSides = true, random = (() => 0.5) as () => number } = {}): Harness {
  const resolved = resolveOptions('http://localhost/events', { share: false, ...options, env: ENV }, IMPLEMENTATIONS)
  // The replay window, as seen.ts keeps it: each id's data and its place in the order delivered.
  const seen = new Map<string, [string, number]>()
  let places = 0
  const m: Harness = {
    now: 1_000_000,
    online: true,
    hidden: false,
    worked: false,
    state: initial(resolved),
    effects: [],
    ctx(): Ctx {
      return {
        now: m.now,
        random,
        options: resolved,
        grace: 0,
        online: () => m.online,
        hidden: () => m.hidden,
        seen: (id, data) => (seen.has(id) ? seen.get(id)![0] === data && seen.get(id)![1] : undefined),
        worked: () => m.worked,
        report() {},
        sides: withSides ? sides : undefined,
      }
    },
    feed(input: Input): Effect[] {
      const before = m.state
      const frozen = JSON.stringify(before)
      const { state, effects } = step(before, input, m.ctx())
      // Pure: the state it was given is never changed.
      expect(JSON.stringify(before)).toBe(frozen)
      m.state = state
      m.effects = effects
      for (const e of effects) {
        const message = delivered(e)
        if (message?.id !== undefined) seen.set(message.id, [message.data, ++places])
        if (e[0] === 'worked') m.worked = true
      }
      // What the driver does right after a connect: the transport reports what it is.
      for (const e of effects) {
        if (e[0] !== 'connect') continue
        const name = resolved.order[e[1].index]
        effects.push(...m.feed(['handle', e[1].epoch, { close() {}, polls: name !== 'websocket' && name !== 'eventsource', proofTimeout: name === 'longpoll' ? 61000 : undefined }]))
      }
      m.effects = effects
      return effects
    },
    /** Move the clock to the next deadline (or by `ms`) and tick. */
    advance(ms?: number): Effect[] {
      const times = Object.values(m.state.deadlines).filter((t): t is number => t !== undefined)
      m.now = ms === undefined ? Math.max(m.now, Math.min(...times)) : m.now + ms
      return m.feed(['tick'])
    },
    get main() {
      return m.state.main
    },
    name(index = m.state.main?.index ?? m.state.tried) {
      return resolved.order[index]
    },
    /** The main attempt proves itself (accepted, then a heartbeat). */
    prove(): void {
      m.feed(['open', m.main!.epoch, undefined])
      m.feed(['heartbeat', m.main!.epoch])
    },
    end(error?: SubwireError): Effect[] {
      return m.feed(['end', m.main!.epoch, error])
    },
  }
  m.feed(['start'])
  return m
}

type M = ReturnType<typeof machine>
const connects = (effects: Effect[]) => effects.flatMap((e) => (e[0] === 'connect' ? [e[1].index] : []))
const closed = (effects: Effect[]) => effects.some((e) => e[0] === 'closed')
/** The message an effect delivers to the listeners, if it is one. */
const delivered = (e: Effect) => (e[0] === 'tell' && e[1] === 'message' ? e[2] : undefined)

/** What the machine did after a connection ended: retry (wait), fall back (next transport at once), step down to long polling, or close. */
function decision(m: M, before: number, effects: Effect[]): string {
  if (closed(effects)) return 'fatal'
  const next = connects(effects)
  if (next.length) return next[0]! > before ? 'fall back' : 'retry at once'
  if (m.state.deadlines.retry !== undefined) return 'retry'
  return 'none'
}

const ORDER: TransportName[] = ['websocket', 'eventsource', 'longpoll']

/** Each row of the table in docs/transports-and-reconnect.md §2, as the machine must decide it. */
const ROWS: Record<string, () => void> = {
  'the server ended the stream cleanly (SSE end, WebSocket 1000/1001, long-poll answer) after the connection proved itself (its `retry` field proves it)': () => {
    const m = machine({ transports: ORDER })
    m.prove()
    expect(decision(m, 0, m.end())).toBe('retry')
    // Accepted, then only the server's retry, then the end: proven by the field, retried.
    const paced = machine({ transports: ORDER })
    paced.feed(['open', paced.main!.epoch, undefined])
    paced.feed(['retry', paced.main!.epoch, 1000])
    expect(decision(paced, 0, paced.end())).toBe('retry')
  },
  'the same before it proved itself (an empty 200, a socket closed before any byte)': () => {
    const m = machine({ transports: ORDER })
    m.feed(['open', m.main!.epoch, undefined])
    expect(decision(m, 0, m.end())).toBe('fall back')
  },
  'HTTP 204 on the SSE stream ("stop", as the SSE spec says)': () => {
    const m = machine({ transports: ['eventsource', 'longpoll'] })
    m.prove()
    expect(decision(m, 0, m.end(new HttpError(204, 'eventsource')))).toBe('fatal')
  },
  'HTTP 401 / 403': () => {
    for (const status of [401, 403]) {
      const m = machine({ transports: ORDER })
      m.prove()
      // Once at once, with fresh headers and query…
      expect(m.state.deadlines.retry).toBeUndefined()
      m.end(new HttpError(status, 'websocket'))
      expect(m.state.deadlines.retry).toBe(m.now)
      expect(connects(m.advance())).toEqual([0])
      // …then fatal.
      expect(decision(m, 0, m.end(new HttpError(status, 'websocket')))).toBe('fatal')
    }
  },
  'HTTP 400, 404, 405, 410': () => {
    for (const status of [400, 404, 405, 410]) {
      // A fresh endpoint that every transport says is missing: fatal after the round.
      const fresh = machine({ transports: ORDER })
      fresh.end(new ConnectionError('refused', 'websocket'))
      expect(decision(fresh, 1, fresh.end(new HttpError(status, 'eventsource')))).toBe('fall back')
      expect(decision(fresh, 2, fresh.end(new HttpError(status, 'longpoll')))).toBe('fatal')
      // An endpoint that worked in this page (a restart): never fatal.
      const restarted = machine({ transports: ORDER })
      restarted.prove()
      restarted.end(new ConnectionError('dropped', 'websocket'))
      restarted.advance()
      restarted.end(new ConnectionError('refused', 'websocket'))
      restarted.end(new HttpError(status, 'eventsource'))
      expect(decision(restarted, 2, restarted.end(new HttpError(status, 'longpoll')))).toBe('retry')
    }
  },
  'HTTP 408, 425, 429, 5xx': () => {
    for (const status of [408, 425, 429, 500, 503]) {
      const m = machine({ transports: ORDER })
      m.prove()
      expect(decision(m, 0, m.end(new HttpError(status, 'websocket', status === 503 ? 7000 : undefined)))).toBe('retry')
      if (status === 503) expect(m.state.deadlines.retry! - m.now).toBeGreaterThanOrEqual(7000)
    }
  },
  'any status named in the `statuses` option': () => {
    for (const [action, expected] of [['fatal', 'fatal'], ['retry', 'retry'], ['fallback', 'fall back'], ['empty', 'retry']] as const) {
      const m = machine({ transports: ORDER, statuses: { 418: action } })
      m.prove()
      expect(decision(m, 0, m.end(new HttpError(418, 'websocket')))).toBe(expected)
    }
  },
  'wrong content type (a login page, a proxy error page)': () => {
    const m = machine({ transports: ORDER })
    expect(decision(m, 0, m.end(new ProtocolError('html', 'websocket', false)))).toBe('fall back')
  },
  'network error, refused upgrade, WebSocket close — before the transport proved itself': () => {
    const m = machine({ transports: ORDER })
    expect(decision(m, 0, m.end(new ConnectionError('refused', 'websocket')))).toBe('fall back')
  },
  'the same after it proved itself': () => {
    const m = machine({ transports: ORDER })
    m.prove()
    expect(decision(m, 0, m.end(new ConnectionError('dropped', 'websocket', 1006)))).toBe('retry')
  },
  'connect timeout; a check that found the transport starved': () => {
    const m = machine({ transports: ORDER, silent: 'fallback' })
    expect(decision(m, 0, m.advance(10_000))).toBe('fall back')
    const starved = machine({ transports: ORDER })
    starved.feed(['open', starved.main!.epoch, undefined])
    // Not proven in a moment: the next one starts beside it; it delivers, so the first was starved.
    const race = connects(starved.advance())
    expect(race).toEqual([1])
    const side = starved.state.side!
    starved.feed(['heartbeat', side.epoch])
    expect(starved.name()).toBe('eventsource')
  },
  'heartbeat timeout on a proven connection': () => {
    const m = machine({ transports: ORDER, heartbeatTimeout: 1000 })
    m.prove()
    // A second heartbeat a second in: the server has a cadence, and silence is watched.
    m.advance(1000)
    m.feed(['heartbeat', m.main!.epoch])
    expect(decision(m, 0, m.advance(1000))).toBe('retry')
  },
  '`buffered` (bursts)': () => {
    const m = machine({ transports: ['websocket', 'eventsource', 'longpoll', 'poll'] })
    m.end(new ConnectionError('refused', 'websocket'))
    m.prove()
    // Not the next transport (long polling here): long polling, past any other stream.
    expect(connects(m.end(new SubwireError('buffered', 'bursts', 'eventsource', true))).map((i) => m.name(i))).toEqual(['longpoll'])
  },
  'a `headers` / `query` / `handshake` function that failed (`provider`)': () => {
    const m = machine({ transports: ORDER })
    expect(decision(m, 0, m.end(new SubwireError('provider', 'token service down', 'websocket', true)))).toBe('retry')
  },
  'a decode failure, a malformed frame, an over-size event, a bad id': () => {
    const m = machine({ transports: ORDER })
    m.prove()
    for (let i = 0; i < 5; i++) m.feed(['warn', m.main!.epoch, new ProtocolError('frame dropped', 'websocket')])
    expect(m.effects.map((e) => e[0] + (e[0] === 'tell' ? ` ${e[1]}` : ''))).toEqual(['tell error'])
    expect(m.state.phase).toBe('open')
  },
  'a configuration that cannot work (`config`)': () => {
    const m = machine({ transports: ORDER })
    expect(decision(m, 0, m.end(new SubwireError('config', 'bad header', 'websocket', false)))).toBe('fatal')
  },
}

describe('the decision table of docs/transports-and-reconnect.md, row by row, against the pure function', () => {
  const doc = readFileSync(resolve(__dirname, '../../docs/transports-and-reconnect.md'), 'utf8')
  const section = doc.slice(doc.indexOf('## 2.'), doc.indexOf('## 3.'))
  const rows = [...section.matchAll(/^\| (.+?) \| .+? \|$/gm)].map((m) => m[1]!).filter((r) => r !== 'what ended the connection' && !/^-+$/.test(r))

  it('has a case for every row, and a row for every case', () => {
    expect(rows.sort()).toEqual(Object.keys(ROWS).sort())
  })

  it.each(Object.keys(ROWS))('%s', (row) => ROWS[row]!())
})

describe('the hot path', () => {
  it('an event on a proven connection copies the state and its attempt once, and leaves the deadlines as they were (no timer armed again)', () => {
    const m = machine({ transports: ['websocket'], heartbeatTimeout: 0 })
    m.prove()
    const before = m.state
    m.feed(['event', m.main!.epoch, { type: 'message', data: 'x', id: '1', lastEventId: '1' }])
    expect(m.effects.map((e) => e[0] + (e[0] === 'tell' ? ` ${e[1]}` : ''))).toEqual(['tell message'])
    expect(m.state.deadlines).toBe(before.deadlines)
    expect(m.state.main).not.toBe(before.main)
    expect(m.state.lastEventId).toBe('1')
  })
})

describe('the model: random inputs against the invariants', () => {
  function rng(seed: number) {
    let s = seed % 2147483647 || 1
    return () => (s = (s * 16807) % 2147483647) / 2147483647
  }

  function run(seed: number, steps: number): { delivered: number; connects: number } {
    const random = rng(seed)
    const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
    const options: SubscribeOptions = {
      transports: pick([ORDER, ['eventsource', 'longpoll'], ['websocket'], ['websocket', 'eventsource', 'longpoll', 'poll']] as TransportName[][]),
      upgradeAfter: pick([0, 5000, 60000]),
      heartbeatTimeout: pick([0, 3000, 45000]),
      retry: { initialDelay: pick([0, 100, 1000]), maxAttempts: pick([Infinity, 50]) },
      pauseWhenHidden: random() < 0.3,
      silent: pick(['check', 'check', 'trust', 'fallback'] as const),
    }
    let m = machine(options, { random })
    const position = new Map<number, number>()
    let deliveries = 0
    let connectCount = 0
    let newest = 0
    let everWorked = false
    let lastResume = 0
    const problems: string[] = []
    const check = (ok: boolean, what: string) => ok || problems.push(what)
    const history: string[] = []
    for (let i = 0; i < steps && !problems.length; i++) {
      const r = random()
      const live = [m.state.main, m.state.side].filter((a) => a !== undefined)
      let input: Input
      let fx: Effect[]
      if (r < 0.2 || (!live.length && r < 0.75)) {
        const ms = pick([undefined, undefined, 0, 1, 500, 3000, 70000])
        history.push(`advance ${ms ?? 'next'}`)
        fx = m.advance(ms)
      } else {
        if (r < 0.75 && live.length) {
          const a = pick(live)
          if (!position.has(a.epoch)) position.set(a.epoch, Number(a.from || 0))
          const action = random()
          if (action < 0.15) input = ['open', a.epoch, random() < 0.1 ? { proven: true } : undefined]
          else if (action < 0.25) input = ['heartbeat', a.epoch]
          else if (action < 0.8) {
            // The server replays from where this attempt started, then goes on.
            const k = position.get(a.epoch)! + 1
            position.set(a.epoch, k)
            newest = Math.max(newest, k)
            input = ['event', a.epoch, { type: 'message', data: String(k), id: String(k), lastEventId: String(k) }]
          } else if (action < 0.83) input = ['retry', a.epoch, pick([0, 10, 2000, 3600000])]
          else if (action < 0.86) input = ['warn', a.epoch, new ProtocolError('frame dropped', 'websocket')]
          else {
            const kind = pick(['clean', 'connection', 'http', 'timeout', 'protocol'])
            const hint = pick([undefined, undefined, 0, 500, 3000])
            const error =
              kind === 'clean'
                ? undefined
                : kind === 'connection'
                  ? new ConnectionError('dropped', 'websocket', pick([1006, 1011, 1012]), undefined, hint)
                  : kind === 'http'
                    ? new HttpError(pick([204, 400, 401, 404, 410, 429, 500, 503]), 'websocket', hint)
                    : kind === 'timeout'
                      ? new TimeoutError('silent', 'websocket')
                      : new ProtocolError('wrong content type', 'websocket', false)
            input = ['end', a.epoch, error]
          }
        } else if (r < 0.85) {
          const event = pick(['offline', 'online', 'visibilitychange', 'pagehide', 'pageshow', 'freeze', 'resume'])
          if (event === 'offline' || event === 'online') m.online = event === 'online'
          if (event === 'visibilitychange') m.hidden = !m.hidden
          input = ['page', event]
        } else if (r < 0.9) input = ['reconnect']
        else if (r < 0.92) input = pick([['detach'], ['attach']] as Input[])
        else if (r < 0.925) input = ['finish']
        else input = ['tick']
        history.push(JSON.stringify(input))
        fx = m.feed(input)
      }
      if (history.length > 60) history.shift()
      const s = m.state
      everWorked ||= m.worked
      for (const e of fx) {
        const message = delivered(e)
        if (message) {
          deliveries++
          const k = Number(message.id)
          check(k <= newest, `delivered ${k}, never sent`)
        }
        if (e[0] === 'connect') connectCount++
        if (e[0] === 'closed' && everWorked) check(!(e[2] instanceof HttpError && [400, 404, 405, 410].includes(e[2].status)), 'fatal "missing" after the endpoint worked')
      }
      // At most one main and one side connection; a side only beside a main.
      check(!s.side || !!s.main, 'a side connection without one in use')
      check(!s.side || !s.main || s.side.epoch !== s.main.epoch, 'side and main are the same attempt')
      // Closed: nothing armed, nothing running; and it stays so.
      if (s.phase === 'closed') {
        check(Object.values(s.deadlines).every((t) => t === undefined), 'a deadline armed after close')
        check(!s.main && !s.side, 'a connection left after close')
        const after = step(s, ['tick'], m.ctx())
        check(after.effects.length === 0, 'an effect after close')
        // A new subscription, as an app would make.
        m = machine(options, { random })
        lastResume = 0
        everWorked = false
        position.clear()
        newest = 0
        continue
      }
      // The resume id never moves back.
      check(Number(s.lastEventId || 0) >= lastResume, `resume id moved back from ${lastResume} to ${s.lastEventId}`)
      lastResume = Number(s.lastEventId || 0)
      // A proven connection was counted as such (the round of failures starts again).
      if (s.main?.proven) check(s.neg.unproven === 0 && s.missing.length === 0, 'a proven connection not counted as proven')
      // A connection not proven yet always has something coming that decides about it: its proof
      // deadline (or a re-check of a trusted one), or a race beside it.
      // (A trusted one is checked again only when there is a next transport to ask.)
      const checked = s.main && !s.main.proven && (s.main.openedAt === undefined || (options.silent === 'check' && s.main.index + 1 < m.ctx().options.order.length))
      if (checked && !s.idle) check(s.deadlines.proof !== undefined || s.side?.purpose === 'race' || s.deadlines.race !== undefined, 'an unproven connection with nothing to decide about it')
      // A fallback that is open has a probe pending (or running).
      if (s.main?.openedAt !== undefined && s.main.index > 0 && options.upgradeAfter && !s.idle) {
        check(s.deadlines.probe !== undefined || s.side !== undefined || s.deadlines.proof !== undefined, 'open on a fallback with no probe pending')
      }
      // Every list the state keeps is bounded, however long it runs: transports seen to fail (a bit
      // each) and with a cadence (a set), "no such endpoint" answers (one round's), ids (rings).
      const n = m.ctx().options.order.length
      check(Number.isInteger(s.failed) && s.failed >= 0 && s.failed < 2 ** n, `failed is ${s.failed}`)
      check(new Set(s.cadence).size === s.cadence.length && s.cadence.length <= n, `cadence holds ${s.cadence.length} entries`)
      // (Each failed attempt of a round adds at most two, and a 401 or 403 asked again once two more.)
      check(s.missing.length <= 2 * n * m.ctx().options.nodes.length + 2, `missing holds ${s.missing.length} entries`)
      check(s.mainIds.length <= 64 && (s.side?.ids.length ?? 0) <= 64, 'an id ring over 64')
      // Every deadline is in the future or now (the driver arms one timer for the earliest).
      for (const t of Object.values(s.deadlines) as Array<number | undefined>) check(t === undefined || t >= m.now - 70000, 'a deadline far in the past')
    }
    if (problems.length) throw new Error(`seed ${seed}: ${problems[0]}\n${history.join('\n')}`)
    return { delivered: deliveries, connects: connectCount }
  }

  const seeds = process.env.SUBWIRE_SEED ? [Number(process.env.SUBWIRE_SEED)] : [1, 2, 3, 4, 5, 6, 7, 8, Date.now() % 1e9]
  it.each(seeds)('keeps every invariant over random runs from seed %i', (seed) => {
    let delivered = 0
    let connects = 0
    for (let run_ = 0; run_ < 25; run_++) {
      const r = run(seed * 1000 + run_, 2000)
      delivered += r.delivered
      connects += r.connects
    }
    expect(delivered).toBeGreaterThan(100)
    expect(connects).toBeGreaterThan(100)
  })
})
