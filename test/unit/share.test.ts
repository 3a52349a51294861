// Sharing: one connection per endpoint in a page (reference counted, with a grace period) and
// across tabs (a leader holds it, followers get its events), with fake Web Locks and
// BroadcastChannel; a leader that closes, freezes or crashes mid-stream hands over.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionError, HttpError, ProtocolError, type StateChange, type SubwireError, type SubwireEvent } from '../../src/index'
import { say } from '../../src/text'
import { tick, URL_, world, type World } from '../fixtures/fake'
import { tabs } from '../fixtures/tabs'
import { expectSaid } from '../fixtures/said'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})

const shared = (w: World, extra = {}) => w.options({ share: 'auto', transports: ['eventsource'], ...extra })

function record(sub: { on(type: string, l: (v: any) => void): unknown }) {
  const events: string[] = []
  const states: StateChange[] = []
  sub.on('message', (e: SubwireEvent) => events.push(`${e.data}#${e.id}@${e.lastEventId}/${e.transport}`))
  sub.on('state', (s: StateChange) => states.push(s))
  return { events, states }
}

const send = (w: World, n: number, from = 1) => {
  const c = w.open().at(-1)!
  for (let i = from; i < from + n; i++) c.sink.event({ type: 'message', data: `e${i}`, id: String(i), lastEventId: String(i) })
}

describe('in a page', () => {
  it('shares one connection between subscriptions with the same connection options, each with its own listeners and decoder', async () => {
    const w = world()
    const a = w.subscribe(URL_, shared(w))
    const b = w.subscribe(URL_, shared(w, { decode: (data: string) => data.toUpperCase() }))
    const c = w.subscribe(URL_, shared(w, { transports: ['longpoll'] }))
    const ra = record(a)
    const rb = record(b)
    await tick()
    expect(w.connections.map((x) => x.name)).toEqual(['eventsource', 'longpoll'])
    w.connections[0]!.sink.open()
    send(w.connections[0] ? w : w, 0)
    w.connections[0]!.sink.event({ type: 'message', data: 'x', id: '1', lastEventId: '1' })
    expect(ra.events).toEqual(['x#1@1/eventsource'])
    expect(rb.events).toEqual(['X#1@1/eventsource'])
    expect(ra.states.at(-1)).toMatchObject({ state: 'open', shared: 'page' })
    a.close()
    expect(b.state).toBe('open')
    expect(w.connections[0]!.closed).toBe(false)
    b.close()
    c.close()
    // A grace period, so a component that remounts does not reconnect…
    expect(w.connections[0]!.closed).toBe(false)
    const again = w.subscribe(URL_, shared(w))
    await tick(500)
    expect(w.connections).toHaveLength(2)
    expect(again.state).toBe('open')
    again.close()
    // …then it closes, with nothing left behind.
    await tick(1000)
    expect(w.open()).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
    expect(w.page.live).toBe(0)
  })

  it('a late subscriber starts from the live position; one with its own resume point gets its own connection', async () => {
    const w = world()
    const a = w.subscribe(URL_, shared(w))
    await tick()
    w.connections[0]!.sink.open()
    send(w, 3)
    const late = w.subscribe(URL_, shared(w))
    const rl = record(late)
    await tick()
    send(w, 1, 4)
    expect(rl.events).toEqual(['e4#4@4/eventsource'])
    expect(rl.states[0]).toMatchObject({ state: 'open', shared: 'page' })
    const own = w.subscribe(URL_, shared(w, { lastEventId: '1' }))
    await tick()
    expect(w.connections).toHaveLength(2)
    expect(w.connections[1]!.from).toBe('1')
    a.close()
    late.close()
    own.close()
  })

  it("a closed subscription's lastEventId stays where it closed while the shared connection goes on", async () => {
    const w = world()
    const a = w.subscribe(URL_, shared(w))
    const b = w.subscribe(URL_, shared(w))
    await tick()
    w.connections[0]!.sink.open()
    send(w, 3)
    await tick()
    b.close()
    send(w, 2, 4)
    await tick()
    expect(a.lastEventId).toBe('5')
    expect(b.lastEventId).toBe('3')
    a.close()
  })
})

describe('across tabs', () => {
  it('one tab holds the connection, the others get the same events and states', async () => {
    const { tabs: [t0, t1, t2] } = tabs(3)
    const subs = [t0!, t1!, t2!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    await tick()
    const all = [t0!, t1!, t2!].flatMap((t) => t.connections)
    expect(all).toHaveLength(1)
    expect(t0!.connections).toHaveLength(1)
    t0!.connections[0]!.sink.open()
    send(t0!, 3)
    await tick()
    for (const s of seen) expect(s.events).toEqual(['e1#1@1/eventsource', 'e2#2@2/eventsource', 'e3#3@3/eventsource'])
    expect(seen[0]!.states.at(-1)).toMatchObject({ state: 'open', shared: 'leader' })
    expect(seen[1]!.states.at(-1)).toMatchObject({ state: 'open', transport: 'eventsource', shared: 'follower' })
    expect(subs[2]!.state).toBe('open')
    expect(subs[2]!.lastEventId).toBe('3')
    for (const s of subs) s.close()
  })

  it('a follower does not call its headers/query providers; tabs with headers share only with a shareKey', async () => {
    const { tabs: [t0, t1] } = tabs(2)
    let calls = 0
    const query = () => (calls++, { token: 't' })
    const withQuery = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t, { query })))
    await tick()
    // No shareKey: each tab its own connection.
    expect(t0!.connections.length + t1!.connections.length).toBe(2)
    for (const s of withQuery) s.close()
    await tick(2000)
    const keyed = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t, { query, shareKey: 'user-7' })))
    await tick()
    expect(t0!.open().length + t1!.open().length).toBe(1)
    for (const s of keyed) s.close()
  })

  it('when the leader tab closes, the next takes over from the last id: nothing lost, nothing doubled in any tab', async () => {
    const { tabs: [t0, t1, t2], locks } = tabs(3)
    const subs = [t0!, t1!, t2!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, 5)
    await tick()
    subs[0]!.close()
    await tick(1000)
    await tick(50)
    // Tab 1 leads now, and resumed from the last id it had.
    expect(locks.holder()).toBe(1)
    const next = t1!.connections[0]!
    expect(next.from).toBe('5')
    next.sink.open()
    // The server replays after 5: 6, 7.
    send(t1!, 2, 6)
    await tick()
    expect(seen[1]!.events.map((e) => e.split('#')[0])).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'])
    expect(seen[2]!.events).toEqual(seen[1]!.events)
    expect(seen[1]!.states.at(-1)).toMatchObject({ shared: 'leader' })
    for (const s of subs) s.close()
  })

  /**
   * Three tabs, tab 0 leading: `before` events reach every tab, `missed` more do not reach tab
   * `slow`; then tab 0 crashes and tab 1 takes over. Its connection, opened, and each tab's data.
   */
  async function crashWithSlowTab(slow: number, before: number, missed: number) {
    const { tabs: [t0, t1, t2], bus, crash, locks } = tabs(3)
    const subs = [t0!, t1!, t2!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, before)
    await tick()
    bus.blocked.add(slow)
    send(t0!, missed, before + 1)
    await tick()
    bus.blocked.delete(slow)
    crash(0)
    await tick(60)
    expect(locks.holder()).toBe(1)
    const next = t1!.connections[0]!
    next.sink.open()
    const data = (i: number) => seen[i]!.events.map((e) => e.split('#')[0])
    return { t1: t1!, next, data, close: () => (subs[1]!.close(), subs[2]!.close()) }
  }

  it('a leader that crashes mid-stream: the new leader resends what a slow tab missed, and drops what it replays twice', async () => {
    // Tab 2 is slow: the last two events do not reach it before the leader's tab dies.
    const { t1, next, data, close } = await crashWithSlowTab(2, 2, 2)
    expect(next.from).toBe('4')
    // The server's replay may repeat the last event it had relayed: it is dropped.
    next.sink.event({ type: 'message', data: 'e4', id: '4', lastEventId: '4' })
    send(t1, 1, 5)
    await tick()
    expect(data(1)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'])
    expect(data(2)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'])
    close()
  })

  it('a new leader behind the group gets the rest from a tab ahead, connects from there, and drops its server\'s replay of those events', async () => {
    // Tab 1, next in line, misses 4 and 5; tab 2 has them.
    const { t1, next, data, close } = await crashWithSlowTab(1, 3, 2)
    expect(next.from).toBe('5')
    // A server that does not read the resume point sends everything again.
    send(t1, 6)
    await tick()
    expect(data(1)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
    expect(data(2)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
    close()
  })

  it('a new leader whose server sends the same event again and again: only the first is taken for what the group had (a replay is in the order delivered)', async () => {
    const { next, data, close } = await crashWithSlowTab(2, 2, 2)
    expect(next.from).toBe('4')
    for (let i = 0; i < 3; i++) next.sink.event({ type: 'message', data: 'e3', id: '3', lastEventId: '3' })
    await tick()
    expect(data(1)).toEqual(['e1', 'e2', 'e3', 'e4', 'e3', 'e3'])
    expect(data(2)).toEqual(['e1', 'e2', 'e3', 'e4', 'e3', 'e3'])
    close()
  })

  it("a new leader whose server says reset (it restarted): what it sends after is new to the group, even where id and data match the ring", async () => {
    const { next, data, close } = await crashWithSlowTab(2, 2, 2)
    next.sink.event({ type: 'reset', data: '0', id: undefined, lastEventId: '4' })
    next.sink.event({ type: 'message', data: 'e1', id: '1', lastEventId: '1' })
    await tick()
    await tick(100)
    expect(data(1)).toEqual(['e1', 'e2', 'e3', 'e4', 'e1'])
    expect(data(2)).toEqual(['e1', 'e2', 'e3', 'e4', 'e1'])
    close()
  })

  it('a new leader whose server greets first (an event without an id) and then sends everything again still drops what the group had', async () => {
    const { t1, next, data, close } = await crashWithSlowTab(1, 3, 2)
    expect(next.from).toBe('5')
    next.sink.event({ type: 'hello', data: 'connected', id: undefined, lastEventId: '5' })
    send(t1, 6)
    await tick()
    expect(data(1)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
    expect(data(2)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
    close()
  })

  it('a tab that answers a new leader only after its first event (busy as the leader changed) still gets that event, with no event after it', async () => {
    const { tabs: [t0, t1, t2], locks, hold, release } = tabs(3)
    const subs = [t0!, t1!, t2!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, 3)
    await tick()
    // Tab 2 is busy while tab 0 goes and tab 1 takes over: the new leader does not know it yet.
    hold(2)
    subs[0]!.close()
    await tick(1000)
    await tick(50)
    expect(locks.holder()).toBe(1)
    t1!.connections[0]!.sink.open()
    send(t1!, 1, 4)
    await tick()
    expect(seen[1]!.events.map((e) => e.split('#')[0])).toEqual(['e1', 'e2', 'e3', 'e4'])
    // Then the stream is quiet: no later event shows tab 2 a gap to ask for.
    release(2)
    await tick()
    await tick(100)
    expect(seen[2]!.events.map((e) => e.split('#')[0])).toEqual(['e1', 'e2', 'e3', 'e4'])
    subs[1]!.close()
    subs[2]!.close()
  })

  it('a frozen leader hands over, and follows when it comes back', async () => {
    const { tabs: [t0, t1], locks } = tabs(2)
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, 1)
    await tick()
    t0!.fire('freeze')
    // Its subscriptions hear at once that they follow now (whether or not the new leader has a
    // state change to relay when the tab is back).
    expect(seen[0]!.states.at(-1)).toMatchObject({ state: 'open', shared: 'follower' })
    await tick(50)
    expect(t0!.connections[0]!.closed).toBe(true)
    expect(locks.holder()).toBe(1)
    t0!.fire('resume')
    t1!.connections[0]!.sink.open()
    send(t1!, 1, 2)
    await tick()
    expect(seen[0]!.events.map((e) => e.split('#')[0])).toEqual(['e1', 'e2'])
    expect(seen[0]!.states.at(-1)).toMatchObject({ shared: 'follower' })
    for (const s of subs) s.close()
  })

  it('a subscription that closes itself when told it follows (a leader frozen) stops there; the other subscriptions of the tab go on', async () => {
    const { tabs: [t0, t1] } = tabs(2)
    const quitter = t0!.subscribe(URL_, shared(t0!))
    const stayer = t0!.subscribe(URL_, shared(t0!))
    const other = t1!.subscribe(URL_, shared(t1!))
    const after: string[] = []
    quitter.on('state', (s) => {
      if (s.shared === 'follower') quitter.close()
    })
    quitter.on('message', (e) => after.push(`quitter ${e.data}`))
    const seen = record(stayer)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, 1)
    await tick()
    expect(() => t0!.fire('freeze')).not.toThrow()
    expect(quitter.state).toBe('closed')
    expect(seen.states.at(-1)).toMatchObject({ shared: 'follower' })
    await tick(50)
    t0!.fire('resume')
    t1!.connections[0]!.sink.open()
    send(t1!, 1, 2)
    await tick()
    expect(seen.events.map((e) => e.split('#')[0])).toEqual(['e1', 'e2'])
    expect(after).toEqual(['quitter e1'])
    for (const s of [stayer, other]) s.close()
  })

  /** Two tabs whose shared connection (tab 0 leads) failed once and waits to try again. */
  async function failing() {
    const { tabs: [t0, t1], locks } = tabs(2)
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t)))
    const states: StateChange[] = []
    subs[1]!.on('state', (s) => states.push(s))
    await tick()
    t0!.connections[0]!.sink.close(new ConnectionError('reset', 'eventsource'))
    await tick()
    const waiting = states.at(-1)!
    expect(waiting).toMatchObject({ state: 'reconnecting', attempt: 1 })
    return { t0: t0!, t1: t1!, locks, subs, states, waiting }
  }

  it('a tab that takes over a failing connection waits out its backoff and goes on counting: handovers do not multiply requests', async () => {
    const { t0, t1, locks, subs, states, waiting } = await failing()
    // The leader's tab freezes 100 ms into the wait: tab 1 leads, and waits for the rest of it.
    await tick(100)
    t0!.fire('freeze')
    await tick(50)
    expect(locks.holder()).toBe(1)
    expect(t1!.connections).toHaveLength(0)
    await tick(waiting.delay! - 100 - 50 - 1)
    expect(t1!.connections).toHaveLength(0)
    await tick(1)
    expect(t1!.connections).toHaveLength(1)
    // Its failure is the second in a row: the wait after it grows as the first leader's would have.
    t1!.connections[0]!.sink.close(new ConnectionError('reset', 'eventsource'))
    await tick()
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 2 })
    expect(states.at(-1)!.delay!).toBeGreaterThan(waiting.delay!)
    for (const s of subs) s.close()
  })

  it('a tab that takes over a failing connection after the wall clock was set back waits out the rest of the backoff, not the size of the jump', async () => {
    const { t0, t1, locks, subs, waiting } = await failing()
    vi.setSystemTime(Date.now() - 3_600_000)
    t0!.fire('freeze')
    await tick(50)
    expect(locks.holder()).toBe(1)
    await tick(waiting.delay!)
    expect(t1!.connections).toHaveLength(1)
    for (const s of subs) s.close()
  })

  it('against a server that fails every request, a handover every 2 s asks it no more often than one tab alone', async () => {
    /** Run 30 s with every connection failing at once; `handover` every 2 s; the requests made. */
    async function requests(count: number, handover: boolean): Promise<number> {
      const group = tabs(count)
      const subs = group.tabs.map((t) => t.subscribe(URL_, shared(t, { retry: { initialDelay: 1000, maxDelay: 30000, resetAfter: 5000 } })))
      for (let ms = 0; ms < 30_000; ms += 100) {
        await tick(100)
        for (const t of group.tabs) for (const c of t.open()) c.sink.close(new ConnectionError('reset', 'eventsource'))
        if (handover && ms % 2000 === 0) {
          const leader = group.tabs[group.locks.holder()!]
          leader?.fire('freeze')
          await tick(0)
          leader?.fire('resume')
        }
      }
      const made = group.tabs.reduce((n, t) => n + t.connections.length, 0)
      for (const sub of subs) sub.close()
      return made
    }
    const alone = await requests(1, false)
    const shared3 = await requests(3, true)
    console.log(`[sharing] a server failing every request for 30 s: ${alone} requests from one tab alone, ${shared3} from three tabs with a handover every 2 s`)
    expect(alone).toBeGreaterThan(3)
    expect(shared3).toBeLessThanOrEqual(alone + 1)
  })

  it("a follower's event types reach every new leader (native EventSource registers named events), also those sent before any tab led", async () => {
    const { tabs: [t0, t1, t2], locks } = tabs(3)
    const subs = [t0!, t1!, t2!].map((t) => t.subscribe(URL_, shared(t)))
    // Tab 2 listens for 'price' at once: no tab leads yet when it says so.
    subs[2]!.on('price', () => {})
    await tick()
    // What a transport registers: the types it was opened with, and those added while it runs.
    const registered = (t: typeof t0) => [...t!.connections[0]!.context.types(), ...t!.connections[0]!.listened]
    expect(registered(t0)).toContain('price')
    // The leader freezes: tab 1 leads, and its connection listens for 'price' too.
    t0!.fire('freeze')
    await tick(50)
    expect(locks.holder()).toBe(1)
    expect(registered(t1)).toContain('price')
    for (const s of subs) s.close()
  })

  it('ids that start again with other data (a server restarted) are new events in every tab, not replays; every tab gets what a tab alone gets', async () => {
    const sequence = [['1', 'a'], ['2', 'b'], ['1', 'c'], ['2', 'b']]
    const { tabs: [t0, t1] } = tabs(2)
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    const alone = world()
    const own = alone.subscribe(URL_, shared(alone, { share: false }))
    const seenAlone = record(own)
    await tick()
    for (const c of [t0!.connections[0]!, alone.connections[0]!]) {
      c.sink.open()
      for (const [id, data] of sequence) c.sink.event({ type: 'message', data: data!, id, lastEventId: id! })
    }
    await tick()
    // 'c' under id 1 is new. (The second 'b' comes mid-stream, on the same connection: a tab alone
    // delivers it too, as the native EventSource would.)
    expect(seenAlone.events.map((e) => e.split('#')[0])).toContain('c')
    for (const s of seen) expect(s.events).toEqual(seenAlone.events)
    for (const s of [...subs, own]) s.close()
  })

  it('a fatal error on the leader closes the subscription in every tab, with the typed error', async () => {
    const { tabs: [t0, t1] } = tabs(2)
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t)))
    const errors: unknown[] = []
    subs[1]!.on('error', (e) => errors.push(e))
    await tick()
    t0!.connections[0]!.sink.close(new HttpError(204, 'eventsource'))
    await tick()
    expect(subs.map((s) => s.state)).toEqual(['closed', 'closed'])
    expect(errors[0]).toBeInstanceOf(HttpError)
    expect((errors[0] as HttpError).status).toBe(204)
    expectSaid(errors[0], 'http', 'eventsource: HTTP 204 (the server said stop)')
  })

  it('without Web Locks or BroadcastChannel, each tab connects on its own', async () => {
    const { tabs: [t0, t1] } = tabs(2)
    for (const t of [t0!, t1!]) t.env = { ...t.env, locks: undefined }
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t)))
    await tick()
    expect(t0!.connections.length + t1!.connections.length).toBe(2)
    for (const s of subs) s.close()
  })

  it("a follower's reconnect() asks the leader", async () => {
    const { tabs: [t0, t1] } = tabs(2)
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t)))
    await tick()
    t0!.connections[0]!.sink.open()
    t0!.connections[0]!.sink.heartbeat()
    subs[1]!.reconnect()
    await tick()
    expect(t0!.connections).toHaveLength(2)
    expect(t0!.connections[0]!.closed).toBe(true)
    t0!.connections[1]!.sink.close(new ConnectionError('x', 'eventsource'))
    for (const s of subs) s.close()
  })
})

describe('what may be shared is decided by rule', () => {
  /** How many connections the tabs opened, each subscribing with its own options. */
  async function connectionsFor(...options: Array<Record<string, unknown>>): Promise<number> {
    const { tabs: list } = tabs(options.length)
    const subs = list.map((t, i) => t.subscribe(URL_, shared(t, options[i])))
    await tick()
    const n = list.reduce((sum, t) => sum + t.open().length, 0)
    for (const sub of subs) sub.close()
    await tick(2000)
    return n
  }

  it('across tabs, function-valued options that reach the server never share, even with the same source text (two users of one app)', async () => {
    const tokenOf = (user: string) => () => ({ token: user })
    expect(await connectionsFor({ query: tokenOf('alice') }, { query: tokenOf('bob') })).toBe(2)
    const greet = (user: string) => () => JSON.stringify({ hello: user })
    expect(await connectionsFor({ handshake: greet('alice'), transports: ['websocket'] }, { handshake: greet('bob'), transports: ['websocket'] })).toBe(2)
    expect(await connectionsFor({ parse: (t: string) => ({ data: t }) }, { parse: (t: string) => ({ data: t }) })).toBe(2)
  })

  it('across tabs, plain data shares when it is the same (headers given as values included) and only then', async () => {
    expect(await connectionsFor({ headers: { authorization: 'Bearer a' } }, { headers: { authorization: 'Bearer a' } })).toBe(1)
    expect(await connectionsFor({ headers: { authorization: 'Bearer a' } }, { headers: { authorization: 'Bearer b' } })).toBe(2)
    expect(await connectionsFor({ query: { room: '1' } }, { query: { room: '2' } })).toBe(2)
  })

  it('across tabs, a shareKey vouches for functions: the same key shares, another does not', async () => {
    const query = () => ({ token: 't' })
    expect(await connectionsFor({ query, shareKey: 'user-7' }, { query, shareKey: 'user-7' })).toBe(1)
    expect(await connectionsFor({ query, shareKey: 'user-7' }, { query, shareKey: 'user-8' })).toBe(2)
  })

  it("in a page: share itself is part of the key, log is not", async () => {
    const w = world()
    const a = w.subscribe(URL_, shared(w, { log: () => {} }))
    const b = w.subscribe(URL_, shared(w, { log: () => {} }))
    const c = w.subscribe(URL_, shared(w, { share: 'page' }))
    await tick()
    expect(w.connections).toHaveLength(2)
    for (const sub of [a, b, c]) sub.close()
  })
})

describe('the tabs protocol: every message checked, gaps asked for, joiners start at the live position', () => {
  /** Three tabs subscribed (tab 0 leads), the channel's name, and a stray poster on it. */
  async function group(log?: (r: { dropped?: number | undefined }) => void) {
    const all = tabs(3)
    const [t0, t1, t2] = all.tabs as [World, World, World]
    const subs = [t0, t1].map((t, i) => t.subscribe(URL_, shared(t, i === 1 && log ? { log } : {})))
    const seen = subs.map(record)
    await tick()
    t0.connections[0]!.sink.open()
    const name = [...all.bus.channels][0]!.name
    const stray = new (all.bus.forTab(9))(name)
    return { ...all, t0, t1, t2, subs, seen, stray }
  }

  it('a message that does not follow the protocol is dropped and counted, never thrown; delivery goes on', async () => {
    const drops: number[] = []
    const { t0, subs, seen, stray } = await group((r) => r.dropped && drops.push(r.dropped))
    send(t0, 2)
    await tick()
    const hostile = [
      null,
      42,
      'event',
      {},
      { t: 'nope' },
      { t: 'event' },
      { t: 'event', n: '3', m: { type: 'message', data: 'x', lastEventId: '3' }, tr: 'eventsource' },
      { t: 'event', n: 3, m: { type: 'message', data: 'x'.repeat(8388609), lastEventId: '3' }, tr: 'eventsource' },
      { t: 'event', n: 3, m: { type: 'message', data: 'x', lastEventId: '3' }, tr: 'carrier-pigeon' },
      { t: 'event', n: -1, m: null, tr: 'eventsource' },
      { t: 'state', c: null },
      { t: 'state', c: { state: 'exploded', attempt: 0 } },
      { t: 'error', e: { kind: 7 } },
      { t: 'need', n: Infinity },
      { t: 'hello', n: 1.5 },
      { t: 'listen', type: { toString: null } },
      // Error kinds that name what every object has: no class of subwire's.
      { t: 'error', e: { kind: 'toString', message: 'x' } },
      { t: 'error', e: { kind: '__proto__', message: 'x' } },
      { t: 'error', e: { kind: 'constructor', message: 'x' } },
      { t: 'error', e: { kind: { toString: null, valueOf: null }, message: 'x' } },
      { t: 'state', c: { state: 'reconnecting', transport: 'eventsource', attempt: 1, error: { kind: 'hasOwnProperty', message: 'x' } } },
      // The shapes of protocol 4, each with one field out of bounds or of the wrong type.
      { t: 'event', term: 'x'.repeat(65), n: 3, after: '2', m: { type: 'message', data: 'x', lastEventId: '3' }, tr: 'eventsource' },
      { t: 'event', term: 't', n: 3, after: 2, m: { type: 'message', data: 'x', lastEventId: '3' }, tr: 'eventsource' },
      { t: 'event', term: 't', n: 3, after: '2', m: { type: 'message', data: 'x', id: 'x'.repeat(4097), lastEventId: '3' }, tr: 'eventsource' },
      { t: 'need', term: 't', n: -1, l: '', id: 'a' },
      { t: 'need', term: 't', n: 0, l: '', id: 'a'.repeat(65) },
      { t: 'miss', term: 't', n: 0, l: '' },
      { t: 'at', l: null, to: 'a' },
      { t: 'state', c: { state: 'open', transport: 'eventsource', attempt: 0 }, term: 't', n: 1.5, l: '' },
    ]
    for (const message of hostile) stray.postMessage(message)
    await tick()
    send(t0, 2, 3)
    await tick()
    for (const r of seen) expect(r.events).toEqual(['e1#1@1/eventsource', 'e2#2@2/eventsource', 'e3#3@3/eventsource', 'e4#4@4/eventsource'])
    expect(drops.at(-1)).toBe(hostile.length)
    for (const sub of subs) sub.close()
  })

  it('what other tabs tell a leader is kept bounded: event types to listen for (as followers) at most 1024, however many a script posts', async () => {
    const { t0, subs, seen, stray } = await group()
    for (let k = 0; k < 5000; k++) stray.postMessage({ t: 'listen', type: `type ${k}` })
    await tick()
    const registered = new Set([...t0.connections[0]!.context.types(), ...t0.connections[0]!.listened])
    expect(registered.size).toBeLessThanOrEqual(1024)
    // A type the group already has is still heard; delivery goes on.
    send(t0, 2)
    await tick()
    for (const r of seen) expect(r.events).toEqual(['e1#1@1/eventsource', 'e2#2@2/eventsource'])
    for (const sub of subs) sub.close()
  })

  it("an error from another tab is revived as subwire's class of its kind, whatever fields it carries (an own __proto__ does not choose its prototype)", async () => {
    const { subs, stray } = await group()
    const errors: SubwireError[] = []
    subs[1]!.on('error', (e) => errors.push(e))
    stray.postMessage(JSON.parse('{"t":"error","e":{"kind":"http","message":"x","status":503,"__proto__":{"polluted":true}}}'))
    await tick()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(HttpError)
    expect((errors[0] as unknown as { polluted?: boolean }).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(errors[0])).toBe(HttpError.prototype)
    for (const sub of subs) sub.close()
  })

  it('an event whose number leaves a gap is not taken as the new position: the follower asks the leader, and gets every event once, in order', async () => {
    const { t0, subs, seen, stray, bus } = await group()
    let term = ''
    stray.onmessage = ({ data }: MessageEvent) => void (data.t === 'event' && (term = data.term))
    send(t0, 2)
    await tick()
    // A forged number far ahead, in the leader's tenure (read off the channel).
    stray.postMessage({ t: 'event', term, n: 99, after: '2', m: { type: 'message', data: 'forged', id: '99', lastEventId: '99' }, tr: 'eventsource' })
    await tick()
    // A follower that misses relayed events (a busy tab): it asks for them when the next one shows the gap.
    bus.blocked.add(1)
    send(t0, 3, 3)
    await tick()
    bus.blocked.delete(1)
    send(t0, 1, 6)
    await tick()
    const expected = [1, 2, 3, 4, 5, 6].map((k) => `e${k}#${k}@${k}/eventsource`)
    expect(seen[0]!.events).toEqual(expected)
    expect(seen[1]!.events).toEqual(expected)
    for (const sub of subs) sub.close()
  })

  it('absurd numbers from another tab are bounded before use: a wait of 2^53 ms is an hour, a count of 2^40 failures is 64', async () => {
    const { t0, t1, subs, stray } = await group()
    const states: StateChange[] = []
    subs[1]!.on('state', (change) => states.push(change))
    stray.postMessage({ t: 'state', c: { state: 'reconnecting', transport: 'eventsource', attempt: 2 ** 40, delay: Number.MAX_SAFE_INTEGER } })
    await tick()
    // The leader goes; tab 1 takes over the forged wait and count, bounded.
    subs[0]!.close()
    await tick(1000)
    await tick(60)
    expect(t1.connections).toHaveLength(0)
    await tick(3_600_000 - 2000)
    expect(t1.connections).toHaveLength(0)
    await tick(2000)
    expect(t1.connections).toHaveLength(1)
    t1.connections[0]!.sink.close(new ConnectionError('reset', 'eventsource'))
    await tick()
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 65 })
    expect(states.at(-1)!.delay!).toBeLessThanOrEqual(30_000 * 1.5)
    expect(t0.open()).toHaveLength(0)
    subs[1]!.close()
  })

  it('a follower whose listener closes its subscription mid-stream: nothing more reaches it, nothing is thrown, the group goes on', async () => {
    const { t0, t1, subs, seen } = await group()
    const thrown: unknown[] = []
    vi.stubGlobal('reportError', (e: unknown) => thrown.push(e))
    try {
      const late = t1.subscribe(URL_, shared(t1))
      const got: string[] = []
      late.on('message', (e) => {
        got.push(String(e.data))
        if (got.length === 2) late.close()
      })
      await tick()
      send(t0, 4)
      await tick()
      expect(got).toEqual(['e1', 'e2'])
      expect(late.state).toBe('closed')
      expect(seen[1]!.events).toHaveLength(4)
      expect(thrown).toEqual([])
    } finally {
      vi.unstubAllGlobals()
    }
    for (const sub of subs) sub.close()
  })

  it('a tab alone relays nothing; a follower that joins gets every event from there on; once it said goodbye, relaying stops again', async () => {
    const all = tabs(2)
    const [t0, t1] = all.tabs as [World, World]
    const relayed: string[] = []
    all.bus.tap = (tab, data) => void ((data as { t: string }).t === 'event' && relayed.push(`t${tab}`))
    const alone = t0.subscribe(URL_, shared(t0))
    await tick()
    t0.connections[0]!.sink.open()
    send(t0, 3)
    await tick()
    expect(relayed).toEqual([])
    const follower = t1.subscribe(URL_, shared(t1))
    const seen = record(follower)
    await tick()
    send(t0, 2, 4)
    await tick()
    expect(seen.events.map((e) => e.split('#')[0])).toEqual(['e4', 'e5'])
    expect(relayed).toEqual(['t0', 't0'])
    follower.close()
    await tick(1500)
    send(t0, 2, 6)
    await tick()
    expect(relayed).toHaveLength(2)
    expect(alone.lastEventId).toBe('7')
    alone.close()
  })

  it('a tab that subscribes with its own resume point gets the events from there out of the leader\'s ring, without a connection of its own', async () => {
    const { t0, t2, subs, seen } = await group()
    send(t0, 5)
    await tick()
    // A page that saved id 2 before a reload.
    const late = t2.subscribe(URL_, shared(t2, { lastEventId: '2' }))
    const seenLate = record(late)
    await tick()
    send(t0, 1, 6)
    await tick()
    expect(seenLate.events.map((e) => e.split('#')[0])).toEqual(['e3', 'e4', 'e5', 'e6'])
    expect(t2.connections).toHaveLength(0)
    expect(seen[1]!.events).toHaveLength(6)
    for (const sub of [...subs, late]) sub.close()
  })

  it('the ring holds the last 1000 events in order past its wrap: a resume point in it is answered from there, one before it is not', async () => {
    const { t0, t2, subs } = await group()
    send(t0, 1200)
    await tick()
    const inRing = t2.subscribe(URL_, shared(t2, { lastEventId: '500' }))
    const got = record(inRing)
    await tick()
    expect(t2.connections).toHaveLength(0)
    expect(got.events.map((e) => parseInt(e.split('#')[1]!))).toEqual(Array.from({ length: 700 }, (_, i) => 501 + i))
    inRing.close()
    await tick(1500)
    // 200 is older than what the ring holds (201–1200): this tab reads from there on its own.
    const before = t2.subscribe(URL_, shared(t2, { lastEventId: '200' }))
    await tick()
    expect(t2.open().map((c) => c.from)).toEqual(['200'])
    for (const sub of [...subs, before]) sub.close()
  })

  it('where no ring holds its resume point, a tab reads from there on a connection of its own until it meets the group\'s stream, then closes it', async () => {
    const { t0, t2, subs } = await group()
    send(t0, 5, 101)
    await tick()
    // Saved before a reload, older than anything the group has.
    const late = t2.subscribe(URL_, shared(t2, { lastEventId: '100' }))
    const seenLate = record(late)
    await tick()
    expect(t2.open()).toHaveLength(1)
    const own = t2.open()[0]!
    expect(own.from).toBe('100')
    own.sink.open()
    // What goes wrong on its own reading is this tab's to hear (the group's connection is fine).
    const errors: string[] = []
    late.on('error', (e) => errors.push(e.code))
    own.sink.warn(new ProtocolError(say('bad-id', 4096), 'eventsource'))
    expect(errors).toEqual(['bad-id'])
    // Its server sends what followed 100; the group's stream goes on meanwhile (106).
    send(t0, 1, 106)
    await tick()
    send(t2, 4, 101)
    await tick()
    expect(t2.open()).toHaveLength(1)
    send(t2, 2, 105)
    await tick()
    // Up to where the group's stream is: its own reading is done, and the group's goes on.
    expect(t2.open()).toHaveLength(0)
    send(t0, 1, 107)
    await tick()
    expect(seenLate.events.map((e) => e.split('#')[0])).toEqual(['e101', 'e102', 'e103', 'e104', 'e105', 'e106', 'e107'])
    for (const sub of [...subs, late]) sub.close()
  })

  it("the leader's answer to a joiner (state, open) goes to the joiner only: the other tabs do not hear open again", async () => {
    const { t0, t1, t2, subs } = await group()
    t1.env.random = () => 0.25
    t2.env.random = () => 0.75
    send(t0, 1)
    await tick()
    const opens: string[] = []
    subs[1]!.on('open', () => opens.push('t1'))
    const late = t2.subscribe(URL_, shared(t2))
    late.on('open', () => opens.push('t2'))
    await tick()
    expect(opens).toEqual(['t2'])
    expect(late.state).toBe('open')
    for (const sub of [...subs, late]) sub.close()
  })

  it('a tab that joins a channel with history starts at the live position: no old event delivered as new', async () => {
    const { t0, t2, subs, seen } = await group()
    send(t0, 5)
    await tick()
    const late = t2.subscribe(URL_, shared(t2))
    const seenLate = record(late)
    await tick()
    send(t0, 2, 6)
    await tick()
    expect(seenLate.events).toEqual(['e6#6@6/eventsource', 'e7#7@7/eventsource'])
    expect(seen[1]!.events).toHaveLength(7)
    for (const sub of [...subs, late]) sub.close()
  })
})

describe('leadership follows the group', () => {
  it('a leader that pauses while hidden (pauseWhenHidden) hands over to a visible tab: the visible ones keep receiving', async () => {
    const { tabs: [t0, t1] } = tabs(2)
    const subs = [t0!, t1!].map((t) => t.subscribe(URL_, shared(t, { pauseWhenHidden: true })))
    const seen = subs.map(record)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, 2)
    await tick()
    t0!.hidden = true
    t0!.fire('visibilitychange')
    // The new leader listens for the group's position (GATHER, 50 ms) before it connects.
    await tick(50)
    // Tab 1, visible, leads now, resuming from the last id; tab 0 follows.
    expect(t1!.open()).toHaveLength(1)
    expect(t1!.open()[0]!.from).toBe('2')
    expect(t0!.open()).toEqual([])
    t1!.open()[0]!.sink.open()
    send(t1!, 2, 3)
    await tick()
    const all = [1, 2, 3, 4].map((k) => `e${k}#${k}@${k}/eventsource`)
    expect(seen[0]!.events).toEqual(all)
    expect(seen[1]!.events).toEqual(all)
    for (const sub of subs) sub.close()
  })

  it('alone, a hidden leader takes the lock back and pauses as it would without sharing', async () => {
    const { tabs: [t0] } = tabs(1)
    const sub = t0!.subscribe(URL_, shared(t0!, { pauseWhenHidden: true }))
    await tick()
    t0!.connections[0]!.sink.open()
    t0!.hidden = true
    t0!.fire('visibilitychange')
    await tick()
    expect(t0!.open()).toEqual([])
    expect(sub.state).toBe('reconnecting')
    t0!.hidden = false
    t0!.fire('visibilitychange')
    await tick()
    expect(t0!.open()).toHaveLength(1)
    sub.close()
  })
})

