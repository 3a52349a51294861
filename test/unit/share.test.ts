// Sharing: one connection per endpoint in a page (reference counted, with a grace period) and
// across tabs (a leader holds it, followers get its events), with fake Web Locks and
// BroadcastChannel; a leader that closes, freezes or crashes mid-stream hands over.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionError, HttpError, type StateChange, type SubwireEvent } from '../../src/index'
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

  it('a leader that crashes mid-stream: the new leader resends what a slow tab missed, and drops what it replays twice', async () => {
    const { tabs: [t0, t1, t2], bus, crash, locks } = tabs(3)
    const subs = [t0!, t1!, t2!].map((t) => t.subscribe(URL_, shared(t)))
    const seen = subs.map(record)
    await tick()
    t0!.connections[0]!.sink.open()
    send(t0!, 2)
    await tick()
    // Tab 2 is slow: the last two events do not reach it before the leader's tab dies.
    bus.blocked.add(2)
    send(t0!, 2, 3)
    await tick()
    bus.blocked.delete(2)
    crash(0)
    await tick()
    expect(locks.holder()).toBe(1)
    const next = t1!.connections[0]!
    expect(next.from).toBe('4')
    next.sink.open()
    // The server's replay may repeat the last event it had relayed: it is dropped.
    next.sink.event({ type: 'message', data: 'e4', id: '4', lastEventId: '4' })
    send(t1!, 1, 5)
    await tick()
    const data = (i: number) => seen[i]!.events.map((e) => e.split('#')[0])
    expect(data(1)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'])
    expect(data(2)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5'])
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
    await tick()
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

