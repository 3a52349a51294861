// One connection per endpoint per browser: the tabs of one origin that subscribe to the same
// endpoint with the same connection options share it. One tab holds the connection (the leader,
// chosen with a Web Lock: the tab holding the lock leads, the others queue for it); the others
// (followers) receive its events over a BroadcastChannel. When the leader tab closes, crashes, is
// frozen or hidden in the back/forward cache, the lock passes to the next tab, which connects,
// resuming from the last event id it had.
//
// Every relayed event carries a sequence number that goes on across leaders: a tab drops numbers
// it has seen (no doubles) and asks the leader for numbers it missed (no gaps; each tab keeps the
// last RING events). To local subscriptions a tab connection looks like any connection.
import type { Connection, ConnectionListener } from './connection'
import { report } from './report'
import { ConnectionError, DecodeError, HttpError, ProtocolError, SubwireError, TimeoutError } from './errors'
import type { Resolved } from './options'
import type { EventSourceMessage } from './parser'
import type { OpenInfo, ResetInfo, State, StateChange, TransportName } from './types'

/** Events each tab keeps, to resend to a tab that missed them while leaders changed. */
const RING = 1000
/** How long a new leader listens for the group's position before it connects, in ms. */
const GATHER = 50
/** The longest another tab's backoff delay is followed (an hour, as a server's hints). */
const MAX_WAIT = 3600000
/** Failed attempts in a row taken over from another tab, at most (the backoff is at its maximum long before). */
const MAX_ATTEMPT = 64

type Relayed =
  | { t: 'event'; n: number; m: EventSourceMessage; tr: TransportName; r?: true; to?: string }
  | { t: 'state'; c: StateChange; n?: number; l?: string; to?: string }
  | { t: 'error'; e: SubwireError }
  | { t: 'open'; i: OpenInfo; to?: string }
  | { t: 'reset'; i: ResetInfo }
  | { t: 'hello'; n: number; l: string; id: string; fresh?: true }
  | { t: 'at'; n: number; id: string; to: string }
type Asked = { t: 'join'; id: string } | { t: 'need'; n: number } | { t: 'reconnect' } | { t: 'listen'; type: string }

const CLASSES: Record<string, typeof SubwireError> = { http: HttpError, connection: ConnectionError, timeout: TimeoutError, protocol: ProtocolError, decode: DecodeError } as never

const STATES = ['connecting', 'open', 'reconnecting', 'closed']
const TRANSPORTS = ['websocket', 'eventsource', 'longpoll', 'poll']
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max
const isTransport = (v: unknown) => v === undefined || TRANSPORTS.includes(v as string)
const isError = (e: unknown) => isObject(e) && isText(e.kind, 64) && isText(e.message, 65536) && isTransport(e.transport)

/**
 * Whether a message from another tab has the shape, types and bounds of the protocol: anything on
 * the channel may come from another version of the app, or from script that posts to it.
 */
function valid(data: unknown, options: Resolved): data is Relayed | Asked {
  if (!isObject(data) || !(data.to === undefined || isText(data.to, 64))) return false
  switch (data.t) {
    case 'event': {
      const m = data.m
      return (
        isCount(data.n) &&
        isTransport(data.tr) &&
        isObject(m) &&
        isText(m.type, 1024) &&
        isText(m.data, options.maxEventSize) &&
        isText(m.lastEventId, options.maxIdLength) &&
        (m.id === undefined || isText(m.id, options.maxIdLength))
      )
    }
    case 'state': {
      const c = data.c
      return (
        isObject(c) &&
        STATES.includes(c.state as string) &&
        isTransport(c.transport) &&
        isCount(c.attempt) &&
        (c.delay === undefined || isCount(c.delay)) &&
        (c.error === undefined || isError(c.error)) &&
        (data.n === undefined || isCount(data.n)) &&
        (data.l === undefined || isText(data.l, options.maxIdLength))
      )
    }
    case 'error':
      return isError(data.e)
    case 'open':
    case 'reset':
      return isObject(data.i) && isTransport(data.i.transport)
    case 'hello':
      return isCount(data.n) && isText(data.l, options.maxIdLength) && isText(data.id, 64) && (data.fresh === undefined || data.fresh === true)
    case 'at':
      return isCount(data.n) && isText(data.id, options.maxIdLength) && isText(data.to, 64)
    case 'need':
      return isCount(data.n)
    case 'listen':
      return isText(data.type, 1024)
    case 'join':
      return isText(data.id, 64)
    default:
      return data.t === 'reconnect'
  }
}

/** An error as fields that cross a BroadcastChannel, and back as an instance of its class. */
const flatten = (e: SubwireError | undefined) => e && { ...e, name: e.name, message: e.message }
const revive = (e: SubwireError | undefined) => e && (Object.assign(Object.create((CLASSES[e.kind] ?? SubwireError).prototype), e) as SubwireError)

export interface TabConnection extends Connection {
  readonly role: 'leader' | 'follower'
}

/**
 * The cross-tab plug-in: `key` names what is shared (channel and lock), `open` makes this tab's own
 * connection when it leads, `onClosed` unregisters it from the page.
 */
export type Tabs = (key: string, options: Resolved, open: (lastEventId: string, failing?: { attempt: number; since: number }) => Connection, grace: number, onClosed: () => void) => Connection

/**
 * Sharing across the tabs of an origin, as a plug-in: `createSubscribe(transports, { tabs })`.
 * Without it, `share` covers the page only.
 */
export const tabs: Tabs = (key, options, open, grace, onClosed) => tabConnection(key, options, open, grace, onClosed)

function tabConnection(key: string, options: Resolved, open: (lastEventId: string, failing?: { attempt: number; since: number }) => Connection, grace: number, onClosed: () => void): TabConnection {
  const { env } = options
  const page = env.window
  const channel = new env.BroadcastChannel!(key)
  let listeners: ConnectionListener[] = []
  const types = new Set<string>()
  let role: 'leader' | 'follower' = 'follower'
  let connection: Connection | undefined
  let closed = false
  let scheduled = false
  let away = false
  let waiting: AbortController | undefined
  let release: (() => void) | undefined
  let graceTimer: unknown
  // What this tab knows of the shared connection.
  let seq = 0
  // The event whose gap this tab last asked the leader to fill; messages from other tabs it dropped.
  let asked = -1
  let dropped = 0
  // A follower starts where the leader's numbering is when it joins (the leader's answer, or a new
  // leader's hello): what was relayed before that is not this tab's to deliver.
  let synced = false
  let rejoined = false
  // This tab leads without ever having had the group's position; and the wait for the group's answers.
  let fresh = false
  let gathering: unknown
  // When the shared connection, waiting after a failure, tries again (0: not waiting); since when
  // it has been failing, as this tab saw it (0: it is not).
  let retryAt = 0
  let failingSince = 0
  // This tab heard a leader (of now or before): the group may be ahead of it.
  let heard = false
  // This tab's name on the channel, for answers addressed to it.
  const me = String(env.random()).slice(2, 12)
  const ring: Array<Extract<Relayed, { t: 'event' }>> = []
  // The ids of the events in the ring, with their data: what a new leader's connection replays is
  // not relayed again. The same id with other data is new (the server's ids started again).
  const known = new Map<string, string>()
  const had = (m: EventSourceMessage) => m.id !== undefined && known.get(m.id) === m.data
  let state: State = 'connecting'
  let transport: TransportName | undefined
  let lastEventId = options.lastEventId
  let attempt = 0
  let waitingFor: StateChange['waitingFor']

  const each = (fn: (l: ConnectionListener) => void) => {
    for (const l of listeners) {
      if (closed) return
      fn(l)
    }
  }
  const post = (message: Relayed | Asked) => {
    try {
      channel.postMessage(message)
    } catch (error) {
      report(error)
    }
  }

  function deliver(event: Extract<Relayed, { t: 'event' }>, relayed = false): void {
    // Numbers seen already are doubles (a new leader replays what the old one relayed).
    if (event.n <= seq) return
    // A gap in live relaying (this tab was busy, paused or frozen, or the number is not the
    // leader's): ask for what is missing (once per such event); the leader's ring answers in
    // order (`r`), and where its ring no longer holds the start, its answer starts there.
    if (relayed && event.n > seq + 1 && !event.r) {
      if (asked !== event.n) post({ t: 'need', n: seq })
      asked = event.n
      return
    }
    seq = event.n
    // An event this tab has had under another number (a leader that resumed from further back
    // than the group): the number counts, the event is not delivered twice.
    if (had(event.m)) return
    if (event.m.id !== undefined) known.set(event.m.id, event.m.data)
    if (ring.push(event) > RING) {
      const { m: old } = ring.shift()!
      if (had(old)) known.delete(old.id!)
    }
    lastEventId = event.m.lastEventId
    transport = event.tr
    each((l) => l.message(event.m, event.tr))
  }

  function mirror(change: StateChange): void {
    ;({ state, transport, attempt, waitingFor } = change)
    // When the shared connection waits to try again: a tab that takes over waits as long, and
    // goes on counting the failures (bounded: a number from another tab).
    retryAt = state === 'reconnecting' && change.delay !== undefined ? env.now() + Math.min(change.delay, MAX_WAIT) : 0
    if (state === 'open' || !attempt) failingSince = 0
    else failingSince ||= env.now()
    if (state === 'closed') {
      // The shared connection gave up for good (a fatal error): so does every tab.
      finish(change)
    } else each((l) => l.state(change))
  }

  // The leader's listener on the real connection: relay everything, and tell this tab's subscriptions.
  const relay: ConnectionListener = {
    message(m, tr) {
      // A new leader resumes from the last id it had; the tabs ahead of it sent it what it missed,
      // and the server's replay of those is not news to the group.
      if (had(m)) return
      const event = { t: 'event', n: seq + 1, m, tr } as const
      post(event)
      deliver(event)
    },
    state(change) {
      post({ t: 'state', c: { ...change, error: flatten(change.error) } })
      mirror(change)
    },
    error(e) {
      post({ t: 'error', e: flatten(e)! })
      each((l) => l.error(e))
    },
    open(info) {
      post({ t: 'open', i: { transport: info.transport, status: info.status } })
      each((l) => l.open(info))
    },
    reset(info) {
      post({ t: 'reset', i: info })
      each((l) => l.reset(info))
    },
  }

  channel.onmessage = ({ data }: MessageEvent<unknown>) => {
    if (closed) return
    // Dropped and counted, never thrown: the shape, types and bounds of the protocol, or nothing.
    if (!valid(data, options)) {
      dropped++
      return options.log?.({ type: 'share', shared: role, dropped })
    }
    if (data.t !== 'join' && data.t !== 'need' && data.t !== 'reconnect' && data.t !== 'listen') heard = true
    if (role === 'leader') {
      // Answers to this new leader's hello from tabs ahead of it: what it did not have (a tab that
      // had a position), or where the group is (a tab that had none: it starts there, as a joiner).
      if (data.t === 'event') return void (data.to === me && deliver(data, true))
      if (data.t === 'at') {
        if (data.to === me && fresh && data.n > seq) (seq = data.n), (lastEventId = data.id)
        return
      }
      // The answer to a joiner is addressed to it: the other tabs heard `open` already.
      if (data.t === 'join') {
        post({ t: 'state', c: { state, transport, attempt, waitingFor }, n: seq, l: lastEventId, to: data.id })
        if (state === 'open') post({ t: 'open', i: { transport: transport! }, to: data.id })
      } else if (data.t === 'need') for (const event of ring) event.n > data.n && post({ ...event, r: true })
      else if (data.t === 'reconnect') connection?.reconnect()
      // Kept for the connection still to come (a new leader listens first) and for every later one.
      else if (data.t === 'listen') types.add(data.type), connection?.listen(data.type)
      return
    }
    if ('to' in data && data.to !== me) return
    if ((data.t === 'state' || data.t === 'hello') && data.n !== undefined && !synced) {
      // The group's position: its number and the id of the event it stands for, together, so
      // that this tab resumes from the right event should it lead.
      synced = true
      if (data.n > seq) (seq = data.n), (lastEventId = data.l ?? lastEventId)
    } else if (data.t === 'hello') {
      // A new leader: the group goes on from the furthest any tab got. Behind it, ask; ahead of
      // it, send it what it lacks (it drops what it has, and its connection's replay of these).
      if (data.n > seq) post({ t: 'need', n: seq })
      else if (data.n < seq) {
        post({ t: 'at', n: seq, id: lastEventId, to: data.id })
        if (!data.fresh) for (const event of ring) event.n > data.n && post({ ...event, r: true, to: data.id })
      }
    }
    // Every new leader hears the event types this tab listens for (the native EventSource registers
    // named events one by one), also those it asked for before any tab led.
    if (data.t === 'hello') for (const type of types) post({ t: 'listen', type })
    if (data.t === 'event') {
      if (synced) deliver(data, true)
      // The leader's answer to this tab's join (or its hello) went astray: ask again.
      else if (!rejoined) (rejoined = true), post({ t: 'join', id: me })
    }
    else if (data.t === 'state') mirror({ ...data.c, error: revive(data.c.error) })
    else if (data.t === 'error') each((l) => l.error(revive(data.e)!))
    else if (data.t === 'open') each((l) => l.open(data.i))
    else if (data.t === 'reset') each((l) => l.reset(data.i))
  }

  /** Queue for the lock; holding it makes this tab the leader until it gives the lock back. */
  function queue(): void {
    if (closed || away || waiting || role === 'leader') return
    const signal = (waiting = new AbortController()).signal
    env.locks!.request(key, { signal }, () => {
      waiting = undefined
      if (closed || away) return
      return new Promise<void>((resolve) => {
        release = resolve
        lead()
      })
    }).catch(() => {})
  }

  function lead(): void {
    role = 'leader'
    // A tab that never had the group's position (it joined while no tab led) learns it now.
    fresh = !synced
    synced = true
    post({ t: 'hello', n: seq, l: lastEventId, id: me, ...(fresh && { fresh: true as const }) })
    options.log?.({ type: 'share', transport: undefined, shared: 'leader' })
    // In a group that had a leader before, the tabs ahead answer within a few ms: connect from the
    // furthest point the group knows; no sooner than the shared connection would have tried again
    // after a failure. A tab that never heard a leader connects at once.
    const wait = Math.max(heard ? GATHER : 0, retryAt - env.now())
    if (wait > 0) gathering = env.setTimeout(connect, wait)
    else connect()
  }

  function connect(): void {
    if (role !== 'leader' || closed) return
    connection = open(lastEventId, failingSince ? { attempt: Math.min(attempt, MAX_ATTEMPT), since: failingSince } : undefined)
    connection.attach(relay)
    for (const type of types) connection.listen(type)
  }

  /** Give up leading (closing, frozen, hidden in the cache): another tab takes over. */
  function stepDown(): void {
    waiting?.abort()
    waiting = undefined
    if (role !== 'leader') return
    role = 'follower'
    env.clearTimeout(gathering)
    const c = connection
    connection = undefined
    c?.detach(relay)
    release?.()
    release = undefined
  }

  function onPage({ type }: Event): void {
    if (type === 'visibilitychange') {
      // Leadership follows the group: a leader that would pause while hidden (pauseWhenHidden)
      // hands over and queues again behind the others, so a visible tab leads; alone, it gets the
      // lock back and pauses as it would have.
      if (options.pauseWhenHidden && env.hidden() && role === 'leader') stepDown(), queue()
      return
    }
    const wasAway = away
    away = type === 'freeze' || type === 'pagehide'
    if (away) return stepDown()
    // Back from the freeze or the cache: what was relayed meanwhile, from the leader's ring.
    if (wasAway && synced) post({ t: 'need', n: seq })
    queue()
  }

  function finish(change?: StateChange): void {
    if (closed) return
    stepDown()
    closed = true
    state = 'closed'
    env.clearTimeout(graceTimer)
    channel.onmessage = null
    channel.close()
    page?.removeEventListener('freeze', onPage)
    page?.removeEventListener('resume', onPage)
    page?.removeEventListener('pagehide', onPage)
    page?.removeEventListener('pageshow', onPage)
    page?.removeEventListener('visibilitychange', onPage)
    onClosed()
    const all = listeners
    listeners = []
    if (change) for (const l of all) l.state(change)
  }

  function start(): void {
    if (closed) return
    for (const type of ['freeze', 'resume', 'pagehide', 'pageshow', 'visibilitychange']) page?.addEventListener(type, onPage)
    post({ t: 'join', id: me })
    queue()
  }

  return {
    attach(listener) {
      if (closed) return false
      listeners = [...listeners, listener]
      env.clearTimeout(graceTimer)
      if (!scheduled) queueMicrotask(start)
      scheduled = true
      return true
    },
    detach(listener) {
      const rest = listeners.filter((l) => l !== listener)
      if (rest.length === listeners.length || closed) return
      listeners = rest
      if (!rest.length) graceTimer = env.setTimeout(() => finish(), grace)
    },
    reconnect() {
      if (role === 'leader') connection?.reconnect()
      else post({ t: 'reconnect' })
    },
    listen(type) {
      types.add(type)
      if (role === 'leader') connection?.listen(type)
      else post({ t: 'listen', type })
    },
    get role() {
      return role
    },
    get state() {
      return state
    },
    get transport() {
      return transport
    },
    get lastEventId() {
      return lastEventId
    },
    get attempt() {
      return attempt
    },
    get waitingFor() {
      return waitingFor
    },
  }
}
