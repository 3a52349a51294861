// A model test of the tab group: six simulated tabs of one origin (in-memory Web Locks and
// BroadcastChannel), two users with different credentials, and random runs of what tabs do —
// subscribe (also again from the last id a closed subscription had, as a page saves it before a
// reload), close, crash, stall (busy: its messages and lock callbacks wait, as its task queue
// does), freeze (it steps down, its messages wait), the back/forward cache (its messages are
// lost), messages to a tab lost for a while, and the leader's connection failing — while a server
// publishes. After every step and at the end, the invariants: at most one upstream connection per
// user held by a leader, and at most one of its own per follower that came back behind what any
// ring holds (none left at the end); no tab ever receives an event fetched with another user's
// credentials; every subscription gets every event from its own start point once, in order, up
// to the last; nothing is thrown out of a channel handler. MODEL_SEEDS=n runs more seeds.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionError, type Subscription } from '../../src/index'
import { tick, URL_, type World } from '../fixtures/fake'
import { tabs } from '../fixtures/tabs'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.unstubAllGlobals()
})

/** A small seeded generator (mulberry32), so a failing run can be replayed from its seed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const USERS = ['a', 'a', 'a', 'a', 'b', 'b'] as const
type Status = 'off' | 'on' | 'frozen' | 'cached' | 'crashed'

interface Tab {
  world: World
  user: string
  status: Status
  sub?: Subscription | undefined
  /** Per subscription: the event numbers it received, any of another user's, and its own resume point. */
  records: Array<{ got: number[]; foreign: string[]; from?: number | undefined }>
  closedAt: number
}

async function run(seed: number, steps: number) {
  const next = random(seed)
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!
  const group = tabs(USERS.length)
  // Each tab its own randomness (a tab's name on the channel comes from it), as in a browser.
  for (const world of group.tabs) world.env = { ...world.env, random: random(Math.floor(next() * 2 ** 31)) }
  const all: Tab[] = group.tabs.map((world, i) => ({ world, user: USERS[i]!, status: 'off', records: [], closedAt: 0 }))
  const log: Record<string, number> = { a: 0, b: 0 }
  // Per upstream connection: how far the server has sent.
  const sent = new Map<object, number>()
  const thrown: unknown[] = []
  vi.stubGlobal('reportError', (e: unknown) => thrown.push(e))
  const history: string[] = []
  const trace: string[] = []
  if (process.env.MODEL_DEBUG)
    group.bus.tap = (tab, data) => {
      const d = data as { t: string; n?: number; to?: string; id?: string; m?: { data: string }; r?: true; fresh?: true }
      trace.push(`  t${tab} ${d.t}${d.n !== undefined ? ` n=${d.n}` : ''}${d.m ? ` ${d.m.data}` : ''}${d.r ? ' r' : ''}${d.to ? ` to=${d.to}` : ''}${d.t === 'hello' || d.t === 'join' ? ` id=${d.id}` : ''}${(d as { l?: string }).l !== undefined ? ` l=${(d as { l?: string }).l}` : ''}${d.fresh ? ' fresh' : ''}`)
    }

  const options = (tab: Tab, lastEventId?: string) =>
    tab.world.options({
      share: 'auto',
      transports: ['eventsource'],
      ...(lastEventId !== undefined && { lastEventId }),
      headers: { authorization: `Bearer ${tab.user}` },
      retry: { initialDelay: 200, maxDelay: 2000, resetAfter: 5000 },
    })

  /** The server: open each new connection, send it what it has not had (resume by id). */
  function serve() {
    for (const tab of all) {
      if (tab.status === 'crashed') continue
      for (const c of tab.world.open()) {
        if (!sent.has(c)) {
          c.sink.open()
          sent.set(c, c.from === '' ? log[tab.user]! : Number(c.from))
        }
        for (let n = sent.get(c)! + 1; n <= log[tab.user]!; n++) c.sink.event({ type: 'message', data: `${tab.user}:${n}`, id: String(n), lastEventId: String(n) })
        sent.set(c, log[tab.user]!)
      }
    }
  }

  /**
   * At most one upstream connection per user held by a leader, across every tab; besides it, a tab
   * that came back behind where any ring reaches reads from its own resume point on one connection
   * of its own until it meets the group's stream (`quiet`: none left).
   */
  let reading = 0
  function oneConnectionPerUser(quiet = false) {
    const leaders = group.locks.leaders()
    for (const user of ['a', 'b']) {
      const live = all.filter((t) => t.user === user && t.status !== 'crashed')
      const led = live.filter((t) => leaders.has(all.indexOf(t))).flatMap((t) => t.world.open())
      const own = live.filter((t) => !leaders.has(all.indexOf(t))).map((t) => t.world.open().length)
      reading = Math.max(reading, ...own)
      expect(led.length, `user ${user}: open connections of the leader after ${history.join(' ')}`).toBeLessThanOrEqual(1)
      expect(Math.max(0, ...own), `user ${user}: own connections of a follower after ${history.join(' ')}`).toBeLessThanOrEqual(1)
      if (quiet) expect(led.length + own.reduce((a, b) => a + b, 0), `user ${user}: open connections at the end of ${history.join(' ')}`).toBeLessThanOrEqual(1)
    }
  }

  function subscribe(tab: Tab, from?: number) {
    const record = { got: [] as number[], foreign: [] as string[], from }
    tab.records.push(record)
    tab.sub = tab.world.subscribe(URL_, options(tab, from === undefined ? undefined : String(from)))
    tab.sub.on('message', (e) => {
      const [user, n] = String(e.data).split(':')
      if (user !== tab.user) record.foreign.push(String(e.data))
      else record.got.push(Number(n))
    })
    tab.status = 'on'
  }

  // A stalled or frozen tab (its task queue waits) does nothing of its own meanwhile.
  const stalled = (tab: Tab) => group.held(all.indexOf(tab))
  function back(tab: Tab) {
    const i = all.indexOf(tab)
    if (tab.status === 'frozen') group.release(i)
    else group.bus.blocked.delete(i)
    tab.world.fire(tab.status === 'frozen' ? 'resume' : 'pageshow')
    tab.status = 'on'
  }
  const actions: Record<string, () => void> = {
    publish: () => void log[pick(['a', 'b'])]!++,
    burst: () => {
      const user = pick(['a', 'b'])
      log[user]! += 1 + Math.floor(next() * 20)
    },
    subscribe: () => {
      const tab = pick(all.filter((t) => t.status === 'off' && !stalled(t)))
      if (tab) subscribe(tab)
    },
    // A page that saved the last id it had and subscribes from there (a reload: the page's
    // connection of before is gone, its grace after the last subscription over).
    reload: () => {
      const tab = pick(all.filter((t) => t.status === 'off' && !stalled(t) && t.records.at(-1)?.got.length && Date.now() - t.closedAt > 1500))
      if (tab) subscribe(tab, tab.records.at(-1)!.got.at(-1))
    },
    close: () => {
      const tab = pick(all.filter((t) => t.status === 'on' && !stalled(t)))
      if (!tab) return
      tab.sub!.close()
      tab.status = 'off'
      tab.closedAt = Date.now()
    },
    crash: () => {
      // Keep some tabs alive for the end; a crashed tab never comes back.
      const live = all.filter((t) => t.status === 'on')
      if (live.length < 3) return
      const tab = pick(live)
      const i = all.indexOf(tab)
      group.crash(i)
      for (const c of tab.world.open()) c.closed = true
      tab.world.subscribe = (() => {
        throw new Error('crashed')
      }) as never
      // Its code stops: nothing of it runs again (its subscription is closed without a word).
      tab.sub!.close()
      tab.status = 'crashed'
    },
    freeze: () => {
      const tab = pick(all.filter((t) => t.status === 'on'))
      if (!tab) return
      tab.world.fire('freeze')
      group.hold(all.indexOf(tab))
      tab.status = 'frozen'
    },
    cache: () => {
      const tab = pick(all.filter((t) => t.status === 'on'))
      if (!tab) return
      tab.world.fire('pagehide')
      group.bus.blocked.add(all.indexOf(tab))
      tab.status = 'cached'
    },
    back: () => {
      const tab = pick(all.filter((t) => t.status === 'frozen' || t.status === 'cached'))
      if (!tab) return
      back(tab)
    },
    stall: () => {
      const tab = pick(all.filter((t) => t.status === 'on'))
      if (tab) group.hold(all.indexOf(tab))
    },
    unstall: () => {
      const tab = pick(all.filter((t) => t.status === 'on'))
      if (tab) group.release(all.indexOf(tab))
    },
    // Messages to a tab lost for a while (a channel that drops them): it must notice the gap and ask.
    lose: () => {
      const tab = pick(all.filter((t) => t.status === 'on'))
      if (tab) group.bus.blocked.add(all.indexOf(tab))
    },
    found: () => {
      const tab = pick(all.filter((t) => t.status === 'on'))
      if (tab) group.bus.blocked.delete(all.indexOf(tab))
    },
    fail: () => {
      const open = all.filter((t) => t.status !== 'crashed').flatMap((t) => t.world.open())
      if (open.length) pick(open).sink.close(new ConnectionError('reset by the model', 'eventsource'))
    },
  }
  const names = Object.keys(actions)

  for (let step = 0; step < steps; step++) {
    const name = step < 3 ? 'subscribe' : pick(names)
    history.push(name)
    trace.push(`${name} (log a=${log.a} b=${log.b}; holder ${group.locks.holder()}; ${all.map((t, i) => `t${i}:${t.status}${stalled(t) ? '/stalled' : ''}`).join(' ')})`)
    actions[name]!()
    await tick(0)
    serve()
    await tick(Math.floor(next() * 800))
    serve()
    await tick(0)
    oneConnectionPerUser()
  }

  // Quiet: every tab back and reachable, time for handovers and backoff, then the last events.
  for (const tab of all) if (tab.status === 'frozen' || tab.status === 'cached') back(tab)
  for (const [i] of all.entries()) group.release(i)
  group.bus.blocked.clear()
  for (let i = 0; i < 10; i++) {
    await tick(1000)
    serve()
  }
  log.a! += 3
  log.b! += 3
  for (let i = 0; i < 5; i++) {
    serve()
    await tick(500)
  }
  if (process.env.MODEL_DEBUG) {
    console.log(trace.join('\n'))
    console.log(`seed ${seed}: log a=${log.a} b=${log.b}; holder ${group.locks.holder()}`)
    for (const [i, tab] of all.entries())
      console.log(`tab ${i} ${tab.user} ${tab.status} state=${tab.sub?.state} lastEventId=${tab.sub?.lastEventId} open=${tab.world.open().map((c) => c.from).join(',')} conns=${tab.world.connections.map((c) => `${c.from}${c.closed ? 'x' : ''}${c.ended ? 'e' : ''}`).join(',')} got=${tab.records.map((r) => `[${r.got.join(',')}]`).join(' ')}`)
  }
  oneConnectionPerUser(true)

  for (const [i, tab] of all.entries()) {
    for (const [k, record] of tab.records.entries()) {
      const last = k === tab.records.length - 1 && tab.status === 'on'
      const where = `seed ${seed}, tab ${i} (${tab.user}), subscription ${k}: ${history.join(' ')}`
      expect(record.foreign, where).toEqual([])
      // From its own resume point when it had one; in order, once, no gaps. (Without one, where it
      // starts is the position of the connection it joined: a tab's connection kept through a
      // grace period may be behind the group and catch up.)
      if (record.from !== undefined && record.got.length) expect(record.got[0], `${where}: got ${record.got.join(',')}`).toBe(record.from + 1)
      for (let j = 1; j < record.got.length; j++) expect(record.got[j], `${where}: got ${record.got.join(',')}`).toBe(record.got[j - 1]! + 1)
      // A subscription still open at the end has everything up to the last event.
      if (last) expect(record.got.at(-1), `${where}: got ${record.got.join(',')}; log ${log[tab.user]}`).toBe(log[tab.user])
    }
  }
  expect(thrown).toEqual([])
  for (const tab of all) tab.sub?.close()
  await tick(5000)
}

describe('the tab group, as a model: random runs against the invariants', () => {
  it.each(Array.from({ length: Number(process.env.MODEL_SEEDS ?? 100) }, (_, i) => i + 1))('seed %i', async (seed) => {
    await run(seed, 60)
  })
})
