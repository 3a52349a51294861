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
/** How often a follower says it is there (a leader relays only while one may listen), in ms. */
const HERE = 5000
/** Followers a leader keeps track of, at most (beyond, it relays to whoever is there). */
const MAX_FOLLOWERS = 1024

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
  // This tab's position (see above). A tab without one (no resume point of its own, and no answer
  // yet) starts where the group is: the first position it hears of.
  let term = ''
  let n = 0
  let lastEventId = options.lastEventId
  let placed = !!lastEventId
  // This tab's tenures as leader, and the numbers of the one in progress.
  let tenure = ''
  let tenures = 0
  let count = 0
  // A connection of this tab's own, reading from its position up to where the group's stream goes
  // on; the last event of that stream this tab saw.
  let own: Connection | undefined
  let head: Relay | undefined
  // When this tab asked the leader for what follows its position, until the answer came (0: none
  // awaited); messages from other tabs it dropped.
  let asked = 0
  let dropped = 0
  // This tab leads without a position (the group's answers may give it one), and the wait for them.
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
  // As leader: the tabs that said they follow and have not said goodbye (one that crashed stays:
  // relaying to nobody costs less than starving someone). Nobody there: nothing is relayed.
  const followers = new Set<string>()
  let hereTimer: unknown
  // The ring: the last RING events, oldest at `oldest` once it is full.
  const ring: Relay[] = []
  let oldest = 0
  const inOrder = () => (oldest ? [...ring.slice(oldest), ...ring.slice(0, oldest)] : ring)
  // An event in the ring (same id, same data; the same id with other data is new: the server's ids
  // started again). Looked for only where a double can come (a leader's connection starting, a
  // tab not in step with the group's stream), not on the hot path.
  const had = (m: EventSourceMessage) => m.id !== undefined && ring.some((e) => e.m.id === m.id && e.m.data === m.data)
  // The leader's connection (re)opened: what its server sends first may be what the group has.
  let checking = false
  let state: State = 'connecting'
  let transport: TransportName | undefined
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

  /** A relayed event (the leader's own, live, or an answer): delivered when it continues this tab's position. */
  function deliver(e: Relay): void {
    head = e
    // Within a tenure numbers tell (what a tab read on its own has none); across, the id it follows.
    let same = !!e.term && e.term === term && !own
    // Without a position, or without an id to link by (a stream without ids: as a tab alone
    // reconnecting without one), a tab starts where the group's stream is.
    if (!placed || (!lastEventId && !same && !own)) (placed = true), (term = e.term), (n = e.n - 1), (lastEventId = e.after), (same = !!e.term)
    const next = same ? e.n === n + 1 : e.after === lastEventId
    if (!(same && next) && had(e.m)) {
      // Had already (a leader that resumed from further back than this tab): the number counts;
      // the group's stream at this tab's own point: its own reading is done.
      if (own ? e.m.lastEventId === lastEventId : next) stopOwn(), (term = e.term), (n = e.n)
      return
    }
    if (!next) {
      // Seen already, or a gap: this tab was busy, paused, frozen or away when a leader changed.
      if (!own && !(same && e.n <= n)) need()
      return
    }
    // It goes on from here: the group's stream, and this tab's own reading is done.
    stopOwn()
    ;(term = e.term), (n = e.n)
    accept(e)
  }

  function accept(e: Relay): void {
    if (ring.length < RING) ring.push(e)
    else {
      ring[oldest] = e
      oldest = (oldest + 1) % RING
    }
    lastEventId = e.m.lastEventId
    transport = e.tr
    for (const l of listeners) {
      if (closed) return
      l.message(e.m, e.tr)
    }
  }

  /** Ask the leader for what follows this tab's position: once per answer (again after a second without one). */
  function need(force?: true): void {
    if (!force && asked && env.now() - asked < 1000) return
    asked = env.now()
    post({ t: 'need', term, n, l: lastEventId, id: me })
  }

  /** Where in the ring (in order) the events after a position start: -1 when the ring does not hold it. */
  function after(q: Extract<Asked, { t: 'need' }>, ring: Relay[]): number {
    if (q.term && q.term === term && q.n === n) return ring.length
    if (q.term) {
      const i = ring.findIndex((e) => e.term === q.term && e.n === q.n + 1)
      if (i >= 0) return i
    }
    if (q.l && q.l === lastEventId) return ring.length
    for (let i = ring.length; q.l && i--; ) if (ring[i]!.m.id === q.l) return i + 1
    return -1
  }

  // This tab's own reading from its position, until it meets the group's stream.
  const solo: ConnectionListener = {
    message(m, tr) {
      if (!had(m)) accept({ t: 'event', term: '', n: 0, after: lastEventId, m, tr })
      // Up to the last event the group's stream showed: it goes on from there.
      if (head && m.id !== undefined && m.id === head.m.id) stopOwn(), (term = head.term), (n = head.n)
    },
    state(change) {
      if (change.state === 'closed') own = undefined
    },
    error() {},
    open() {},
    reset(info) {
      each((l) => l.reset(info))
    },
  }
  function readOwn(): void {
    if (own || role === 'leader' || closed || !lastEventId) return
    own = open(lastEventId)
    own.attach(solo)
    for (const type of types) own.listen(type)
  }
  function stopOwn(): void {
    const c = own
    own = undefined
    c?.detach(solo)
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

  // The leader's listener on the real connection: relay everything (when a follower is there), and
  // tell this tab's subscriptions.
  const relay: ConnectionListener = {
    message(m, tr) {
      // A new leader resumes from the furthest point it learned; the server's replay of what the
      // group has is not news to it (the connection drops its own doubles; these came from others).
      if (checking && had(m)) return
      checking = false
      const e = { t: 'event', term: tenure, n: (n = ++count), after: lastEventId, m, tr } as const
      if (followers.size) post(e)
      accept((head = e))
    },
    state(change) {
      if (followers.size) post({ t: 'state', c: { ...change, error: flatten(change.error) } })
      mirror(change)
    },
    error(e) {
      if (followers.size) post({ t: 'error', e: flatten(e)! })
      each((l) => l.error(e))
    },
    open(info) {
      checking = true
      if (followers.size) post({ t: 'open', i: { transport: info.transport, status: info.status } })
      each((l) => l.open(info))
    },
    reset(info) {
      if (followers.size) post({ t: 'reset', i: info })
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
    if (data.t === 'state' || data.t === 'event' || data.t === 'hello') heard = true
    if ('to' in data && data.to !== me) return
    if (role === 'leader') {
      if (data.t === 'bye') followers.delete(data.id)
      else if ('id' in data && data.t !== 'hello' && followers.size < MAX_FOLLOWERS) followers.add(data.id)
      // Answers to this new leader's hello, before it connects: what tabs ahead of it have, or
      // (to a leader without a position) where a tab stands.
      if (data.t === 'event') return void (!connection && deliver(data))
      if (data.t === 'at') return void (fresh && !connection && !lastEventId && ((lastEventId = data.l), (placed = true)))
      // The answer to a joiner is addressed to it: the other tabs heard `open` already.
      if (data.t === 'join') {
        post({ t: 'state', c: { state, transport, attempt, waitingFor }, term, n, l: lastEventId, to: data.id })
        if (state === 'open') post({ t: 'open', i: { transport: transport! }, to: data.id })
      } else if (data.t === 'need') {
        const list = inOrder()
        const i = after(data, list)
        if (i < 0) post({ t: 'miss', term, n, l: lastEventId, to: data.id })
        else {
          for (const e of list.slice(i)) post({ ...e, r: true, to: data.id })
          post({ t: 'sent', to: data.id })
        }
      } else if (data.t === 'reconnect') connection?.reconnect()
      // Kept for the connection still to come (a new leader listens first) and for every later one.
      else if (data.t === 'listen') types.add(data.type), connection?.listen(data.type)
      return
    }
    if (data.t === 'event') deliver(data)
    // The answer to this tab's need is complete: a gap seen from now on is asked for again.
    else if (data.t === 'sent') asked = 0
    else if (data.t === 'miss') {
      asked = 0
      // No ring holds what follows this tab's position: it reads from there itself, or (with no
      // id to resume from) starts where the group is.
      if (lastEventId) readOwn()
      else (term = data.term), (n = data.n), (lastEventId = data.l)
    } else if (data.t === 'hello') {
      post({ t: 'here', id: me })
      // A new leader. Ahead of it, send it what it lacks; to one without a position, where this tab is.
      const q = { t: 'need', term: '', n: 0, l: data.l, id: data.id } as const
      const list = inOrder()
      const i = data.l ? after(q, list) : -1
      if (i >= 0) for (const e of list.slice(i)) post({ ...e, r: true, to: data.id })
      else if (data.fresh && lastEventId) post({ t: 'at', l: lastEventId, to: data.id })
      // Every new leader hears the event types this tab listens for (the native EventSource
      // registers named events one by one), also those it asked for before any tab led.
      for (const type of types) post({ t: 'listen', type })
    } else if (data.t === 'state') {
      // The answer to this tab's join: where the group stands, for a tab without a position.
      // (A leader that has none yet: the first event it relays is where this tab starts.)
      if (data.term && !placed) (placed = true), (term = data.term), (n = data.n!), (lastEventId = data.l!)
      mirror({ ...data.c, error: revive(data.c.error) })
    } else if (data.t === 'error') each((l) => l.error(revive(data.e)!))
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
    stopOwn()
    fresh = !lastEventId
    // Unique across tabs and time (a tab's name is random, and two may draw alike).
    tenure = `${me}.${env.now().toString(36)}.${++tenures}`
    post({ t: 'hello', l: lastEventId, id: me, ...(fresh && { fresh: true as const }) })
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
    // Numbered anew in this tenure; the first event links to the position it resumes from.
    ;(term = tenure), (n = count = 0), (placed = true)
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
    followers.clear()
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
    if (away) return stepDown(), stopOwn()
    // Back from the freeze or the cache: what was relayed meanwhile, from the leader's ring.
    if (wasAway && placed) need(true)
    queue()
  }

  function finish(change?: StateChange): void {
    if (closed) return
    stepDown()
    stopOwn()
    post({ t: 'bye', id: me })
    closed = true
    state = 'closed'
    env.clearTimeout(graceTimer)
    env.clearTimeout(hereTimer)
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
    // Said again now and then: a leader that missed it (or came later) relays to this tab too.
    const beat = () => {
      if (role === 'follower' && !away) post({ t: 'here', id: me })
      hereTimer = env.setTimeout(beat, HERE)
    }
    hereTimer = env.setTimeout(beat, HERE)
    // A resume point of its own: the leader's ring, or its own reading, from there.
    if (placed) need(true)
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
