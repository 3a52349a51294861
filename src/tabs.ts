// One connection per endpoint per browser: the tabs of one origin that subscribe to the same
// endpoint with the same connection options share it. One tab holds the connection (the leader,
// chosen with a Web Lock: the tab holding the lock leads, the others queue for it); the others
// (followers) receive its events over a BroadcastChannel. When the leader tab closes, crashes, is
// frozen or hidden in the back/forward cache, the lock passes to the next tab, which connects,
// resuming from the furthest point the group knows.
//
// A position is where a tab stands in the server's stream: the leader tenure (`term`) and number
// (`n`) of the last event it delivered, and the last event id. Within a tenure, numbers find
// doubles and gaps; across tenures, each event names the id it comes after (`after`), so a tab
// links to a new leader's stream where it continues its own. A gap is filled from the leader's
// ring (the last RING events); where no ring holds it, the tab reads from its own resume point on
// a connection of its own until it meets the group's stream. To local subscriptions a tab
// connection looks like any connection.
import type { Connection, ConnectionListener } from './connection'
import { report } from './report'
import { ConnectionError, DecodeError, HttpError, ProtocolError, SubwireError, TimeoutError, type ErrorKind } from './errors'
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
/** How often a follower says it is there (a leader relays only while one may listen), in ms. */
const HERE = 5000
/**
 * Entries a tab keeps of what other tabs tell it, at most: followers a leader keeps track of
 * (beyond, it relays to whoever is there), and event types they ask it to listen for.
 */
const MAX_KEPT = 1024

/** A relayed event: the leader's tenure and its number in it, the id it comes after; `r`: an answer to a tab that asked. */
type Relay = { t: 'event'; term: string; n: number; after: string; m: EventSourceMessage; tr: TransportName; r?: true; to?: string }
type Relayed =
  | Relay
  | { t: 'state'; c: StateChange; term?: string; n?: number; l?: string; to?: string }
  | { t: 'error'; e: SubwireError }
  | { t: 'open'; i: OpenInfo; to?: string }
  | { t: 'reset'; i: ResetInfo }
  | { t: 'hello'; l: string; id: string; fresh?: true }
  | { t: 'at'; l: string; to: string }
  | { t: 'miss'; term: string; n: number; l: string; to: string }
  | { t: 'sent'; to: string }
type Asked = { t: 'join' | 'here' | 'bye'; id: string } | { t: 'need'; term: string; n: number; l: string; id: string } | { t: 'reconnect' } | { t: 'listen'; type: string }

const CLASSES: Record<string, typeof SubwireError> = { http: HttpError, connection: ConnectionError, timeout: TimeoutError, protocol: ProtocolError, decode: DecodeError } as never
/**
 * Every error kind, keyed by ErrorKind so that the compiler holds it complete: another tab's error
 * names one of them (a string, `=== 1`: not a name every object has, such as `toString`).
 */
const KINDS: Record<ErrorKind, 1> = { http: 1, connection: 1, timeout: 1, protocol: 1, decode: 1, overflow: 1, unsupported: 1, buffered: 1, config: 1, provider: 1 }

const STATES = ['connecting', 'open', 'reconnecting', 'closed']
const TRANSPORTS = ['websocket', 'eventsource', 'longpoll', 'poll']
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max
const isTransport = (v: unknown) => v === undefined || TRANSPORTS.includes(v as string)
const isError = (e: unknown) => isObject(e) && typeof e.kind === 'string' && KINDS[e.kind as ErrorKind] === 1 && isText(e.message, 65536) && isTransport(e.transport)

/**
 * Whether a message from another tab has the shape, types and bounds of the protocol: anything on
 * the channel may come from another version of the app, or from script that posts to it.
 */
function valid(data: unknown, options: Resolved): data is Relayed | Asked {
  if (!isObject(data) || !(data.to === undefined || isText(data.to, 64))) return false
  const id = (v: unknown) => isText(v, options.maxIdLength)
  switch (data.t) {
    case 'event': {
      const m = data.m
      return (
        isText(data.term, 64) &&
        isCount(data.n) &&
        id(data.after) &&
        isTransport(data.tr) &&
        isObject(m) &&
        isText(m.type, 1024) &&
        isText(m.data, options.maxEventSize) &&
        id(m.lastEventId) &&
        (m.id === undefined || id(m.id))
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
        (data.term === undefined || (isText(data.term, 64) && isCount(data.n) && id(data.l)))
      )
    }
    case 'error':
      return isError(data.e)
    case 'open':
    case 'reset':
      return isObject(data.i) && isTransport(data.i.transport)
    case 'hello':
      return id(data.l) && isText(data.id, 64) && (data.fresh === undefined || data.fresh === true)
    case 'at':
      return id(data.l) && isText(data.to, 64)
    case 'miss':
      return isText(data.to, 64) && isText(data.term, 64) && isCount(data.n) && id(data.l)
    case 'sent':
      return isText(data.to, 64)
    case 'need':
      return isText(data.term, 64) && isCount(data.n) && id(data.l) && isText(data.id, 64)
    case 'listen':
      return isText(data.type, 1024)
    case 'join':
    case 'here':
    case 'bye':
      return isText(data.id, 64)
    default:
      return data.t === 'reconnect'
  }
}

/** An error as fields that cross a BroadcastChannel, and back as an instance of its class. */
const flatten = (e: SubwireError | undefined) => e && { ...e, name: e.name, message: e.message }
// (Its fields are defined, not assigned: an own `__proto__` field stays a field.)
const revive = (e: SubwireError | undefined) => e && (Object.create((CLASSES[e.kind] ?? SubwireError).prototype, Object.getOwnPropertyDescriptors(e)) as SubwireError)

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

type Open = Parameters<Tabs>[2]

/** One tab's part in a group, as data: what the functions below share. */
interface Tab {
  readonly key: string
  readonly options: Resolved
  readonly env: Resolved['env']
  /** This tab's own connection, when it leads (or reads on its own). */
  readonly open: Open
  readonly grace: number
  readonly onClosed: () => void
  readonly channel: BroadcastChannel
  /** This tab's name on the channel, for answers addressed to it. */
  readonly me: string
  readonly types: Set<string>
  listeners: ConnectionListener[]
  role: 'leader' | 'follower'
  connection?: Connection | undefined
  closed?: boolean
  scheduled?: boolean
  away?: boolean
  waiting?: AbortController | undefined
  release?: (() => void) | undefined
  graceTimer?: unknown
  hereTimer?: unknown
  // This tab's position (see above). A tab without one (no resume point of its own, and no answer
  // yet) starts where the group is: the first position it hears of.
  term: string
  n: number
  lastEventId: string
  placed: boolean
  // This tab's tenures as leader, and the numbers of the one in progress.
  tenure: string
  tenures: number
  count: number
  // A connection of this tab's own, reading from its position up to where the group's stream goes
  // on; the last event of that stream this tab saw.
  own?: Connection | undefined
  head?: Relay | undefined
  // When this tab asked the leader for what follows its position, until the answer came (0: none
  // awaited); messages from other tabs it dropped.
  asked: number
  dropped: number
  // This tab leads without a position (the group's answers may give it one), and the wait for them.
  fresh?: boolean
  gathering?: unknown
  // When the shared connection, waiting after a failure, tries again, and the wait it announced
  // (0: not waiting); since when it has been failing, as this tab saw it (0: it is not).
  retryAt: number
  retryIn: number
  failingSince: number
  // This tab heard a leader (of now or before): the group may be ahead of it.
  heard?: boolean
  // As leader: the tabs that said they follow and have not said goodbye (one that crashed stays:
  // relaying to nobody costs less than starving someone). Nobody there: nothing is relayed.
  readonly followers: Set<string>
  // As leader: its last event went to nobody (no follower then). A tab that says it follows later
  // (busy when the leader changed, its answer to hello late) gets that event again.
  unsent?: boolean
  // The ring: the last RING events, oldest at `oldest` once it is full.
  readonly ring: Relay[]
  oldest: number
  // The leader's connection (re)opened: what its server sends first may be what the group has
  // (`true`; then the event of the ring the check dropped last).
  checking?: true | Relay | undefined
  state: State
  transport?: TransportName | undefined
  attempt: number
  waitingFor?: StateChange['waitingFor'] | undefined
  /** The listeners of this tab's own reading, of its connection as leader, and of the page. */
  readonly solo: ConnectionListener
  readonly relay: ConnectionListener
  readonly onPage: (event: Event) => void
}

const PAGE_EVENTS = ['freeze', 'resume', 'pagehide', 'pageshow', 'visibilitychange']

function tabConnection(key: string, options: Resolved, open: Open, grace: number, onClosed: () => void): TabConnection {
  const { env } = options
  const lastEventId = options.lastEventId
  const t: Tab = {
    key,
    options,
    env,
    open,
    grace,
    onClosed,
    channel: new env.BroadcastChannel!(key),
    me: String(env.random()).slice(2, 12),
    types: new Set(),
    listeners: [],
    role: 'follower',
    term: '',
    n: 0,
    lastEventId,
    placed: !!lastEventId,
    tenure: '',
    tenures: 0,
    count: 0,
    asked: 0,
    dropped: 0,
    retryAt: 0,
    retryIn: 0,
    failingSince: 0,
    followers: new Set(),
    ring: [],
    oldest: 0,
    state: 'connecting',
    attempt: 0,
    // This tab's own reading: its events, its errors and resets are this tab's; its state is not
    // the group's (the tab shows the group's).
    solo: {
      message: (m, tr) => soloMessage(t, m, tr),
      state: (change) => change.state === 'closed' && (t.own = undefined),
      error: (error) => each(t, (l) => l.error(error)),
      open() {},
      reset: (info) => each(t, (l) => l.reset(info)),
    },
    relay: relayOf(() => t),
    onPage: ({ type }) => onPage(t, type),
  }
  t.channel.onmessage = ({ data }: MessageEvent<unknown>) => onChannel(t, data)
  return face(t)
}

/** The ring in order, oldest first. */
const inOrder = (t: Tab) => (t.oldest ? [...t.ring.slice(t.oldest), ...t.ring.slice(0, t.oldest)] : t.ring)

/**
 * Where in `ring` an event is (same id, same data; the same id with other data is new: the server's
 * ids started again), the last such place (with `inOrder`, the latest); -1: nowhere. Looked for
 * only where a double can come (a leader's connection starting, a tab not in step with the
 * group's stream), not on the hot path.
 */
function had(ring: Relay[], m: EventSourceMessage): number {
  let i = m.id ? ring.length : -1
  while (--i >= 0 && !(ring[i]!.m.id === m.id && ring[i]!.m.data === m.data));
  return i
}

function each(t: Tab, fn: (l: ConnectionListener) => void): void {
  for (const l of t.listeners) {
    if (t.closed) return
    fn(l)
  }
}

function post(t: Tab, message: Relayed | Asked): void {
  try {
    t.channel.postMessage(message)
  } catch (error) {
    report(error)
  }
}

/** Where this tab stands: the leader tenure and number of its last event, and its last event id. */
function place(t: Tab, term: string, n: number, lastEventId = t.lastEventId): void {
  t.term = term
  t.n = n
  t.lastEventId = lastEventId
}

/** A relayed event (the leader's own, live, or an answer): delivered when it continues this tab's position. */
function deliver(t: Tab, e: Relay): void {
  t.head = e
  // Within a tenure numbers tell (what a tab read on its own has none); across, the id it follows.
  let same = !!e.term && e.term === t.term && !t.own
  // Without a position, or without an id to link by (a stream without ids: as a tab alone
  // reconnecting without one), a tab starts where the group's stream is.
  if (!t.placed || (!t.lastEventId && !same && !t.own)) {
    t.placed = true
    place(t, e.term, e.n - 1, e.after)
    same = !!e.term
  }
  const next = same ? e.n === t.n + 1 : e.after === t.lastEventId
  if (!next && had(t.ring, e.m) >= 0) {
    // Had already (a leader that resumed from further back than this tab). (An event that follows
    // this tab's position is new to it, whatever it holds: the same event again is no replay.)
    // The group's stream at this tab's own point: its own reading is done.
    if (t.own && e.m.lastEventId === t.lastEventId) stopOwn(t), place(t, e.term, e.n)
    return
  }
  if (!next) {
    // Seen already, or a gap: this tab was busy, paused, frozen or away when a leader changed.
    if (!t.own && !(same && e.n <= t.n)) need(t)
    return
  }
  // It goes on from here: the group's stream, and this tab's own reading is done.
  stopOwn(t)
  place(t, e.term, e.n)
  accept(t, e)
}

function accept(t: Tab, e: Relay): void {
  const { ring } = t
  if (ring.length < RING) ring.push(e)
  else {
    ring[t.oldest] = e
    t.oldest = (t.oldest + 1) % RING
  }
  t.lastEventId = e.m.lastEventId
  t.transport = e.tr
  for (const l of t.listeners) {
    if (t.closed) return
    l.message(e.m, e.tr)
  }
}

/** Ask the leader for what follows this tab's position: once per answer (again after a second without one). */
function need(t: Tab, force?: true): void {
  const now = t.env.now()
  if (!force && t.asked && now - t.asked < 1000) return
  t.asked = now
  post(t, { t: 'need', term: t.term, n: t.n, l: t.lastEventId, id: t.me })
}

/** Where in the ring (in order) the events after a position start: -1 when the ring does not hold it. */
function after(t: Tab, q: Extract<Asked, { t: 'need' }>, ring: Relay[]): number {
  if (q.term && q.term === t.term && q.n === t.n) return ring.length
  if (q.term) {
    const i = ring.findIndex((e) => e.term === q.term && e.n === q.n + 1)
    if (i >= 0) return i
  }
  if (q.l && q.l === t.lastEventId) return ring.length
  for (let i = ring.length; q.l && i--; ) if (ring[i]!.m.id === q.l) return i + 1
  return -1
}

/** Send tab `to` what the ring holds after a position (`false`: not held). */
function resend(t: Tab, q: Extract<Asked, { t: 'need' }>): boolean {
  const list = inOrder(t)
  const i = q.term || q.l ? after(t, q, list) : -1
  if (i < 0) return false
  for (const e of list.slice(i)) post(t, { ...e, r: true, to: q.id })
  return true
}

/** An event of this tab's own reading from its position, until it meets the group's stream. */
function soloMessage(t: Tab, m: EventSourceMessage, tr: TransportName): void {
  if (had(t.ring, m) < 0) accept(t, { t: 'event', term: '', n: 0, after: t.lastEventId, m, tr })
  // Up to the last event the group's stream showed: it goes on from there.
  const { head } = t
  if (head && m.id !== undefined && m.id === head.m.id) stopOwn(t), place(t, head.term, head.n)
}

function readOwn(t: Tab): void {
  if (t.own || t.role === 'leader' || t.closed || !t.lastEventId) return
  const own = (t.own = t.open(t.lastEventId))
  own.attach(t.solo)
  for (const type of t.types) own.listen(type)
}

function stopOwn(t: Tab): void {
  const c = t.own
  t.own = undefined
  c?.detach(t.solo)
}

/** The shared connection's state, as this tab shows it. */
function mirror(t: Tab, change: StateChange): void {
  const { env } = t
  const { state, attempt } = change
  t.state = state
  t.transport = change.transport
  t.attempt = attempt
  t.waitingFor = change.waitingFor
  // When the shared connection waits to try again: a tab that takes over waits as long, and
  // goes on counting the failures (bounded: a number from another tab).
  t.retryIn = state === 'reconnecting' && change.delay !== undefined ? Math.min(change.delay, MAX_WAIT) : 0
  t.retryAt = env.now() + t.retryIn
  if (state === 'open' || !attempt) t.failingSince = 0
  else t.failingSince ||= env.now()
  // The shared connection gave up for good (a fatal error): so does every tab.
  if (state === 'closed') finish(t, change)
  else each(t, (l) => l.state(change))
}

/**
 * The leader's listener on the real connection: relay everything (when a follower is there), and
 * tell this tab's subscriptions. (`tab()`: the tab it is made for, not yet built.)
 */
function relayOf(tab: () => Tab): ConnectionListener {
  const relay = (t: Tab, message: Relayed) => t.followers.size && post(t, message)
  return {
    message(m, tr) {
      const t = tab()
      // A new leader resumes from the furthest point it learned; the server's replay of what the
      // group has is not news to it (the connection drops its own doubles; these came from others).
      // A replay is in the order delivered: the same event again is no replay. (An event without
      // an id, a greeting, leaves the check on for the events with ids after it; it costs nothing.)
      if (t.checking && m.id) {
        const ring = inOrder(t)
        const at = had(ring, m)
        if (at > ring.indexOf(t.checking as Relay)) return void (t.checking = ring[at])
        t.checking = undefined
      }
      const e = { t: 'event', term: t.tenure, n: (t.n = ++t.count), after: t.lastEventId, m, tr } as const
      t.unsent = !t.followers.size
      relay(t, e)
      accept(t, (t.head = e))
    },
    state(change) {
      relay(tab(), { t: 'state', c: { ...change, error: flatten(change.error) } })
      mirror(tab(), change)
    },
    error(e) {
      relay(tab(), { t: 'error', e: flatten(e)! })
      each(tab(), (l) => l.error(e))
    },
    open(info) {
      const t = tab()
      t.checking = true
      relay(t, { t: 'open', i: { transport: info.transport, status: info.status } })
      each(t, (l) => l.open(info))
    },
    reset(info) {
      const t = tab()
      // The server's ids started again: nothing it sends now is what the group had.
      t.checking = undefined
      relay(t, { t: 'reset', i: info })
      each(t, (l) => l.reset(info))
    },
  }
}

/** A message from another tab. Dropped and counted, never thrown: the shape, types and bounds of the protocol, or nothing. */
function onChannel(t: Tab, data: unknown): void {
  if (t.closed) return
  if (!valid(data, t.options)) {
    t.dropped++
    return t.options.log?.({ type: 'share', shared: t.role, dropped: t.dropped })
  }
  if (data.t === 'state' || data.t === 'event' || data.t === 'hello') t.heard = true
  if ('to' in data && data.to !== t.me) return
  if (t.role === 'leader') asLeader(t, data)
  else asFollower(t, data)
}

function asLeader(t: Tab, data: Relayed | Asked): void {
  if (data.t === 'bye') t.followers.delete(data.id)
  else if ('id' in data && data.t !== 'hello' && t.followers.size < MAX_KEPT) t.followers.add(data.id)
  // A tab that says it follows after this leader's last event went to nobody: that event again (a
  // tab that has it drops it as a double; one behind it asks for the gap). In a quiet stream no
  // later event would show it what it missed.
  if (data.t === 'here' && t.unsent) (t.unsent = false), post(t, t.head!)
  // Answers to this new leader's hello, before it connects: what tabs ahead of it have, or
  // (to a leader without a position) where a tab stands.
  if (data.t === 'event') !t.connection && deliver(t, data)
  else if (data.t === 'at') t.fresh && !t.connection && !t.lastEventId && ((t.lastEventId = data.l), (t.placed = true))
  // The answer to a joiner is addressed to it: the other tabs heard `open` already.
  else if (data.t === 'join') {
    const { state, transport } = t
    post(t, { t: 'state', c: { state, transport, attempt: t.attempt, waitingFor: t.waitingFor }, term: t.term, n: t.n, l: t.lastEventId, to: data.id })
    if (state === 'open') post(t, { t: 'open', i: { transport: transport! }, to: data.id })
  } else if (data.t === 'need') {
    if (!resend(t, data)) post(t, { t: 'miss', term: t.term, n: t.n, l: t.lastEventId, to: data.id })
    else post(t, { t: 'sent', to: data.id })
  } else if (data.t === 'reconnect') t.connection?.reconnect()
  // Kept for the connection still to come (a new leader listens first) and for every later one.
  else if (data.t === 'listen' && t.types.size < MAX_KEPT) t.types.add(data.type), t.connection?.listen(data.type)
}

function asFollower(t: Tab, data: Relayed | Asked): void {
  if (data.t === 'event') deliver(t, data)
  // The answer to this tab's need is complete: a gap seen from now on is asked for again.
  else if (data.t === 'sent') t.asked = 0
  else if (data.t === 'miss') {
    t.asked = 0
    // No ring holds what follows this tab's position: it reads from there itself, or (with no
    // id to resume from) starts where the group is.
    if (t.lastEventId) readOwn(t)
    else place(t, data.term, data.n, data.l)
  } else if (data.t === 'hello') {
    post(t, { t: 'here', id: t.me })
    // A new leader. Ahead of it, send it what it lacks; to one without a position, where this tab is.
    if (!resend(t, { t: 'need', term: '', n: 0, l: data.l, id: data.id }) && data.fresh && t.lastEventId) post(t, { t: 'at', l: t.lastEventId, to: data.id })
    // Every new leader hears the event types this tab listens for (the native EventSource
    // registers named events one by one), also those it asked for before any tab led.
    for (const type of t.types) post(t, { t: 'listen', type })
  } else if (data.t === 'state') {
    // The answer to this tab's join: where the group stands, for a tab without a position.
    // (A leader that has none yet: the first event it relays is where this tab starts.)
    if (data.term && !t.placed) (t.placed = true), place(t, data.term, data.n!, data.l!)
    mirror(t, { ...data.c, error: revive(data.c.error) })
  } else if (data.t === 'error') each(t, (l) => l.error(revive(data.e)!))
  else if (data.t === 'open') each(t, (l) => l.open(data.i))
  else if (data.t === 'reset') {
    // The server's ids started again: what this tab holds says nothing about what comes now.
    t.ring.length = t.oldest = 0
    each(t, (l) => l.reset(data.i))
  }
}

/** Queue for the lock; holding it makes this tab the leader until it gives the lock back. */
function queue(t: Tab): void {
  if (t.closed || t.away || t.waiting || t.role === 'leader') return
  const signal = (t.waiting = new AbortController()).signal
  t.env.locks!.request(t.key, { signal }, () => {
    t.waiting = undefined
    if (t.closed || t.away) return
    return new Promise<void>((resolve) => {
      t.release = resolve
      lead(t)
    })
  }).catch(() => {})
}

function lead(t: Tab): void {
  const { env, lastEventId } = t
  t.role = 'leader'
  t.unsent = false
  stopOwn(t)
  const fresh = (t.fresh = !lastEventId)
  // Unique across tabs and time (a tab's name is random, and two may draw alike).
  t.tenure = `${t.me}.${env.now().toString(36)}.${++t.tenures}`
  post(t, { t: 'hello', l: lastEventId, id: t.me, ...(fresh && { fresh: true as const }) })
  t.options.log?.({ type: 'share', transport: undefined, shared: 'leader' })
  // In a group that had a leader before, the tabs ahead answer within a few ms: connect from the
  // furthest point the group knows; no sooner than the shared connection would have tried again
  // after a failure. A tab that never heard a leader connects at once.
  // (Never longer than the wait announced: the wall clock may have been set back since.)
  const wait = Math.max(t.heard ? GATHER : 0, Math.min(t.retryAt - env.now(), t.retryIn))
  if (wait > 0) t.gathering = env.setTimeout(() => connect(t), wait)
  else connect(t)
}

function connect(t: Tab): void {
  if (t.role !== 'leader' || t.closed) return
  // Numbered anew in this tenure; the first event links to the position it resumes from.
  place(t, t.tenure, (t.count = 0))
  t.placed = true
  const { failingSince } = t
  const connection = (t.connection = t.open(t.lastEventId, failingSince ? { attempt: Math.min(t.attempt, MAX_ATTEMPT), since: failingSince } : undefined))
  connection.attach(t.relay)
  for (const type of t.types) connection.listen(type)
}

/**
 * Give up leading and stay in the group (frozen, hidden in the cache, or hidden with
 * pauseWhenHidden): the subscriptions hear at once that they follow now, with the state they had.
 */
function follow(t: Tab): void {
  const led = t.role === 'leader'
  stepDown(t)
  if (!led) return
  const { state, transport, attempt, waitingFor } = t
  each(t, (l) => l.state({ state, transport, attempt, waitingFor }))
}

/** Give up leading (closing, frozen, hidden in the cache): another tab takes over. */
function stepDown(t: Tab): void {
  t.waiting?.abort()
  t.waiting = undefined
  if (t.role !== 'leader') return
  t.role = 'follower'
  t.followers.clear()
  t.env.clearTimeout(t.gathering)
  const c = t.connection
  t.connection = undefined
  c?.detach(t.relay)
  t.release?.()
  t.release = undefined
}

function onPage(t: Tab, type: string): void {
  if (type === 'visibilitychange') {
    // Leadership follows the group: a leader that would pause while hidden (pauseWhenHidden)
    // hands over and queues again behind the others, so a visible tab leads; alone, it gets the
    // lock back and pauses as it would have.
    if (t.options.pauseWhenHidden && t.env.hidden() && t.role === 'leader') follow(t), queue(t)
    return
  }
  const wasAway = t.away
  t.away = type === 'freeze' || type === 'pagehide'
  if (t.away) return follow(t), stopOwn(t)
  // Back from the freeze or the cache: the group's state (a leader answers a join), and what was
  // relayed meanwhile, from the leader's ring.
  if (wasAway) post(t, { t: 'join', id: t.me })
  if (wasAway && t.placed) need(t, true)
  queue(t)
}

function finish(t: Tab, change?: StateChange): void {
  if (t.closed) return
  const { env, channel } = t
  stepDown(t)
  stopOwn(t)
  post(t, { t: 'bye', id: t.me })
  t.closed = true
  t.state = 'closed'
  env.clearTimeout(t.graceTimer)
  env.clearTimeout(t.hereTimer)
  channel.onmessage = null
  channel.close()
  for (const type of PAGE_EVENTS) t.env.window?.removeEventListener(type, t.onPage)
  t.onClosed()
  const all = t.listeners
  t.listeners = []
  if (change) for (const l of all) l.state(change)
}

function start(t: Tab): void {
  if (t.closed) return
  const { env } = t
  for (const type of PAGE_EVENTS) env.window?.addEventListener(type, t.onPage)
  post(t, { t: 'join', id: t.me })
  // Said again now and then: a leader that missed it (or came later) relays to this tab too.
  const beat = () => {
    if (t.role === 'follower' && !t.away) post(t, { t: 'here', id: t.me })
    t.hereTimer = env.setTimeout(beat, HERE)
  }
  t.hereTimer = env.setTimeout(beat, HERE)
  // A resume point of its own: the leader's ring, or its own reading, from there.
  if (t.placed) need(t, true)
  queue(t)
}

/** What subscriptions see: a connection like any other. */
function face(t: Tab): TabConnection {
  return {
    attach(listener) {
      if (t.closed) return false
      t.listeners = [...t.listeners, listener]
      t.env.clearTimeout(t.graceTimer)
      if (!t.scheduled) queueMicrotask(() => start(t))
      t.scheduled = true
      return true
    },
    detach(listener) {
      const rest = t.listeners.filter((l) => l !== listener)
      if (rest.length === t.listeners.length || t.closed) return
      t.listeners = rest
      if (!rest.length) t.graceTimer = t.env.setTimeout(() => finish(t), t.grace)
    },
    reconnect() {
      if (t.role === 'leader') t.connection?.reconnect()
      else post(t, { t: 'reconnect' })
    },
    listen(type) {
      t.types.add(type)
      if (t.role === 'leader') t.connection?.listen(type)
      else post(t, { t: 'listen', type })
    },
    get role() {
      return t.role
    },
    get state() {
      return t.state
    },
    get transport() {
      return t.transport
    },
    get lastEventId() {
      return t.lastEventId
    },
    get attempt() {
      return t.attempt
    },
    get waitingFor() {
      return t.waitingFor
    },
  }
}
