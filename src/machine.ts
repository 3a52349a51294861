// The connection as data and one pure transition function, in the manner of the "sans-I/O"
// protocol cores (h11, quinn-proto): `step(state, input, ctx)` returns the next state and the
// effects to run — open or stop a transport, tell the listeners, log, remember — and never touches
// a socket, a timer or a listener itself. Time and randomness come in through `ctx`. Deadlines are
// data (`state.deadlines`, absolute times): the driver (connection.ts) arms one timer for the
// earliest and feeds `tick` when it fires. The driver stores the state before it runs any effect,
// so user code that re-enters (a listener that calls close()) meets a finished transition.
//
// The decision table of docs/transports-and-reconnect.md is what `ended()` implements; the policies
// it asks stay small pure modules: classify.ts (retry / fall back / fatal), backoff.ts (how long),
// negotiate.ts (which transport next). Side connections (a race of the next transport, a probe of
// a better one, the remembered transport) are a plug-in (sides.ts): without it, a connection that
// is accepted and silent is trusted, and nothing runs beside it.
//
// A step works on a copy of the state (`s`, with `own()` copying the attempt in use on its first
// change) and collects effects (`fx`); both live in this module for the length of one step, so the
// parts of a step (and the plug-in) share them without passing them around. The state given to
// `step` is never changed.
import { BACKOFF, failed, isUnreachable, progress, type Backoff } from './backoff'
import { classify } from './classify'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError } from './errors'
import { fallback, negotiation, proven, type Negotiation } from './negotiate'
import type { Resolved } from './options'
import type { EventSourceMessage } from './parser'
import type { OpenDetails, TransportHandle } from './transports/types'
import type { LogRecord, OpenInfo, ResetInfo, StateChange, TransportName } from './types'
import { print } from './seen'
import { say } from './text'

/** The deadlines a connection keeps; the driver arms one timer for the earliest. */
export type Key = 'retry' | 'proof' | 'beat' | 'race' | 'probe' | 'side' | 'watch' | 'grace'

/** One connection attempt: the one in use (`main`), or one on the side (`side`). */
export interface Attempt {
  readonly epoch: number
  readonly index: number
  readonly node: number
  readonly startedAt: number
  /** When the server accepted it (a WebSocket open, an HTTP 200 of the right type); undefined until then. */
  readonly acceptedAt?: number
  /** It showed an event, a heartbeat or an id. */
  readonly proven?: boolean
  /** When it became `open` (proven, or accepted and trusted after its check). */
  readonly openedAt?: number | undefined
  readonly lastActivity: number
  readonly unreadable: number
  readonly heartbeats: number
  /** Where it resumed from, and whether its first events are still checked for replays. */
  readonly from: string
  readonly checking: boolean
  /** The place (in the order delivered) of the last event this check dropped; -1: the one asked after, not known here. */
  readonly at?: number | undefined
  /** It delivered an event (since it opened): an event named `reset` is the server's own from then on. */
  readonly told?: boolean | undefined
  /** New events, ids and promised heartbeats; events it sent again. */
  readonly fresh: number
  readonly replayed: number
  /** Development only: events without ids it sent first that were delivered lately (the no-ids diagnosis); -1 once one was not. */
  readonly echoes?: number
  /** It polls (each request has its own deadline: no heartbeats to watch); the time it has to prove itself. */
  readonly polls?: boolean
  readonly proofTimeout: number
  readonly details?: OpenDetails | undefined
  /** Side connections: a race of the next transport, or a probe of a better one. */
  readonly purpose?: 'race' | 'probe' | undefined
  /** A probe: ids it delivered, and events it delivered without one. */
  readonly ids: readonly string[]
  readonly noIds: number
  /** A probe that was accepted and silent while the race winner delivered: starved, unless it shows an event within RACE ms. */
  readonly starving?: boolean
}

export interface State {
  readonly phase: 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'
  readonly main?: Attempt | undefined
  readonly side?: Attempt | undefined
  readonly neg: Negotiation
  readonly backoff: Backoff
  /** The last epoch given to an attempt. */
  readonly epoch: number
  /** The transport (index) the last main attempt used: what a state change names while none runs. */
  readonly tried: number
  readonly lastEventId: string
  /** The server's `retry` field. */
  readonly retryField?: number | undefined
  /** A print of the data of the last event without an id. */
  readonly plain?: number
  readonly waitingFor?: StateChange['waitingFor']
  readonly authRetried?: boolean
  /** The retry that is waiting was asked for by the server (page events do not cut it short). */
  readonly retryHinted?: boolean
  /** The attempt that ended last made progress. */
  readonly healthy?: boolean
  readonly toldReplay?: boolean
  /** "No such endpoint" answers since the last proven connection (node and transport). */
  readonly missing: readonly string[]
  /** Transports on which this server showed a heartbeat cadence. */
  readonly cadence: readonly TransportName[]
  /** Transports seen to fail outright, so that a lower one may be remembered: a bit per index (a set, bounded by construction). */
  readonly failed: number
  /** Checks of a trusted, silent connection so far. */
  readonly rechecks: number
  /** Attempts in a row that got no answer within their time: the next one has twice as long. */
  readonly slow: number
  /** An attempt since the server last accepted one could not reach it (refused, reset, no answer): its wait is an outage's. */
  readonly unreached?: boolean
  /** Ids the connection in use delivered while a probe runs. */
  readonly mainIds: readonly string[]
  readonly remembered: TransportName | undefined
  /** Nobody listens (the grace after the last subscription left). */
  readonly idle?: boolean
  readonly deadlines: Readonly<Partial<Record<Key, number>>>
}

/** What a transport reports, tagged with the epoch of its attempt (an older epoch is ignored). */
export type Report =
  | readonly ['handle', number, TransportHandle]
  | readonly ['open', number, OpenDetails | undefined]
  | readonly ['heartbeat' | 'activity', number]
  | readonly ['event', number, EventSourceMessage]
  | readonly ['id', number, string]
  | readonly ['retry', number, number]
  | readonly ['warn', number, SubwireError]
  | readonly ['end', number, SubwireError | undefined]

export type Input = Report | readonly ['start' | 'tick' | 'reconnect' | 'detach' | 'attach' | 'finish'] | readonly ['page', string]

/** What a connection tells its listeners (the methods of `ConnectionListener`). */
export type Told =
  | readonly ['message', EventSourceMessage, TransportName]
  | readonly ['state', StateChange]
  | readonly ['open', OpenInfo]
  | readonly ['error', SubwireError]
  | readonly ['reset', ResetInfo]

export type Effect =
  | readonly ['connect', Attempt]
  | readonly ['stop', number]
  | readonly ['tell', ...Told]
  | readonly ['log', LogRecord]
  | readonly ['remember', TransportName]
  | readonly ['page', boolean]
  | readonly ['worked']
  | readonly ['closed', StateChange, SubwireError | undefined]

/** What a step may read besides the state and the input: time, randomness, the options, the page. */
export interface Ctx {
  readonly now: number
  readonly random: () => number
  readonly options: Resolved
  /** How long a shared connection outlives its last subscription. */
  readonly grace: number
  online(): boolean
  hidden(): boolean
  /** The replay window: delivered before (same id, same data: its place in the order delivered), same id with other data (`false`), or not seen. */
  seen(id: string, data: string): number | false | undefined
  /** Development only: an event without an id and with this data was delivered lately. */
  readonly again?: ((data: string) => boolean) | undefined
  /** The endpoint worked in this page. */
  worked(): boolean
  /** User code that failed (the retry function). */
  report(error: unknown): void
  /** Side connections and the remembered transport (sides.ts), when the entry brings them. */
  readonly sides: Sides | undefined
  /** Development only: why an attempt got no answer (the six-connection limit of HTTP/1.1). */
  readonly diagnose?: ((transport: TransportName) => string | undefined) | undefined
}

/** The side-connection plug-in's part in a step (sides.ts). Each hook works on the step's state. */
export interface Sides {
  /** The main attempt (a stream) started. */
  started(): void
  /** The main attempt proved itself. */
  proven(): void
  /** The main attempt is open (proven, or trusted). */
  opened(): void
  /** The proof deadline of an accepted, silent main attempt: `true` when a check runs instead. */
  silent(): boolean
  /** The main attempt ended before it proved itself: `true` when a racing side took its place. */
  ended(error: SubwireError | undefined): boolean
  /** A deadline of the plug-in fell due: 'race', 'probe' or 'side'. */
  tick(key: Key): void
  /** A report of the side attempt. */
  side(report: Report): void
  /** The main attempt delivered an event with this id ('': an event without one). */
  delivered(id: string): void
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The state a step builds, its context and its effects (valid during one step). */
export let s: Mutable<State>
export let c: Ctx
export let fx: Effect[]
let mine: Mutable<Attempt> | undefined

/** The sleep watchdog: falls due every WATCH ms; more than JUMP ms late with nothing received means the page slept. */
export const WATCH = 10000
export const JUMP = 60000
/** Frames subwire cannot read, before proof, that fail a streaming connection (one poll body fails a poll). */
const MAX_UNREADABLE = 3
/** The shortest time from one connect to the next after progress: at most two a second. */
const MIN_CYCLE = 500
/** A connection that delivered a single new event (with an id or without) is healthy only when the server asks to come back no sooner than this. */
const PACED = 1000

const EMPTY = {
  phase: 'idle',
  backoff: BACKOFF,
  epoch: 0,
  missing: [],
  cadence: [],
  failed: 0,
  rechecks: 0,
  slow: 0,
  mainIds: [],
  deadlines: {},
} as const

/** `failing`: a backoff taken over (failed attempts in a row, and since when), from a tab that held the connection. */
export function initial(options: Resolved, remembered?: TransportName, failing?: { attempt: number; since: number }): State {
  const neg = negotiation(options.order, remembered)
  return { ...EMPTY, neg, tried: neg.index, lastEventId: options.lastEventId, remembered, ...(failing && failing.attempt > 0 && { backoff: { ...EMPTY.backoff, ...failing } }) }
}

/** The transition function: the next state and the effects, for one input. */
export function step(state: State, input: Input, ctx: Ctx): { state: State; effects: Effect[] } {
  if (state.phase === 'closed') return { state, effects: [] }
  s = { ...state }
  c = ctx
  fx = []
  mine = undefined
  const [t, epoch] = input
  if (typeof epoch === 'number') {
    if (epoch === state.main?.epoch) onMain(input as Report)
    else if (epoch === state.side?.epoch) c.sides?.side(input as Report)
  } else if (t === 'start') {
    if (!c.options.order.length) finish(new SubwireError('unsupported', say('unsupported'), undefined, false))
    else {
      s.phase = 'connecting'
      fx.push(['page', true])
      arm('watch', WATCH)
      connect()
    }
  } else if (t === 'tick') tick()
  else if (t === 'page') onPage(epoch!)
  else if (t === 'reconnect') state.phase !== 'idle' && resume()
  else if (t === 'detach') {
    s.idle = true
    c.grace ? arm('grace', c.grace) : finish()
  } else if (t === 'attach') {
    s.idle = false
    arm('grace', undefined)
  } else finish()
  return { state: s, effects: fx }
}

// --- helpers every part of a step uses --------------------------------------------------------

export const nameOf = (a: Attempt | undefined = s.main) => c.options.order[a ? a.index : s.tried]!

/** The attempt in use, as a copy this step may change: made once per step. */
export function own(): Mutable<Attempt> {
  if (mine !== s.main) mine = s.main = { ...s.main! }
  return mine!
}

/** Set (ms from now) or clear (undefined) a deadline. Clearing one that is not set changes nothing (the hot path clears the proof deadline on every event). */
export function arm(key: Key, ms: number | undefined): void {
  const at = ms === undefined ? ms : c.now + ms
  if (s.deadlines[key] !== at) s.deadlines = { ...s.deadlines, [key]: at }
}

export const tell = (...told: Told) => void fx.push(['tell', ...told])

export function log(type: LogRecord['type'], extra?: Partial<LogRecord>, transport: TransportName | undefined = nameOf()): void {
  if (c.options.log) fx.push(['log', { type, transport, ...extra }])
}

function setPhase(phase: 'connecting' | 'open' | 'reconnecting', extra?: Partial<StateChange>): void {
  s.phase = phase
  tell('state', { state: phase, transport: nameOf(), attempt: s.backoff.attempt, ...extra })
}

/** A new attempt on transport `index` of node `node`. */
export function attempt(index: number, node: number, purpose?: 'race' | 'probe'): Attempt {
  const now = c.now
  const a: Attempt = {
    epoch: ++s.epoch,
    index,
    node,
    purpose,
    startedAt: now,
    lastActivity: now,
    from: s.lastEventId,
    proofTimeout: c.options.connectTimeout,
    unreadable: 0,
    heartbeats: 0,
    checking: true,
    fresh: 0,
    replayed: 0,
    ids: [],
    noIds: 0,
  }
  fx.push(['connect', a])
  return a
}

/** Stop the side attempt, if any. A probe stopped before it showed anything counts as failed. */
export function dropSide(): void {
  const side = s.side
  if (side?.purpose === 'probe' && !side.proven) s.failed |= 1 << side.index
  if (side) fx.push(['stop', side.epoch])
  s.side = undefined
  s.mainIds = []
  arm('side', undefined)
}

// --- the main attempt -------------------------------------------------------------------------

/** Connect on the transport and node in use (or wait for the page). */
export function connect(): void {
  arm('retry', undefined)
  s.waitingFor = undefined
  if (!c.online()) return pause('online')
  if (c.options.pauseWhenHidden && c.hidden()) return pause('visible')
  s.main = attempt((s.tried = s.neg.index), s.neg.node)
  log('connect', nameOf() === s.remembered ? { remembered: true } : undefined)
  setPhase('connecting')
}

/** Replace the connection in use at once (page back, sleep, reconnect()). */
function resume(): void {
  log('resume')
  stopMain()
  connect()
}

/** A report of the attempt in use. */
export function onMain(report: Report): void {
  const a = own()
  switch (report[0]) {
    case 'handle': {
      const { polls, proofTimeout } = report[2]
      a.polls = !!polls
      // A server (or a proxy) that answers only after a while gets twice as long each time.
      arm('proof', (a.proofTimeout = (proofTimeout ?? c.options.connectTimeout) * 2 ** Math.min(s.slow, 4)))
      if (s.cadence.includes(nameOf())) watchSilence()
      // A long poll proves itself only when answered (after the server's hold time): no race.
      if (!proofTimeout) c.sides?.started()
      return
    }
    case 'open':
      // Open again: the transport reconnected by itself (the native EventSource, sending
      // Last-Event-ID): what the server sends first is checked for replays again.
      if (a.acceptedAt !== undefined) return void ((a.from = s.lastEventId), (a.checking = true), (a.at = a.told = undefined))
      a.acceptedAt = c.now
      a.details = report[2]
      s.unreached = false
      if (report[2]?.proven) confirm(true)
      return
    case 'activity':
      a.lastActivity = c.now
      return
    case 'heartbeat': {
      a.lastActivity = c.now
      confirm(true)
      // A second heartbeat, a second or more in, shows a cadence (what comes at once is a
      // greeting, however many comments it has): silence is watched from now on, and from the
      // start of every later connection of this transport.
      const name = nameOf()
      const late = c.now - a.startedAt >= PACED
      if (a.heartbeats++ && late && !s.cadence.includes(name)) s.cadence = [...s.cadence, name]
      if (s.cadence.includes(name)) {
        // A heartbeat the server promised, a second or more in: progress.
        if (late) a.fresh++
        watchSilence()
      }
      return
    }
    case 'event':
      return event(report[2])
    case 'id': {
      const id = report[2]
      confirm(true)
      if (id !== s.lastEventId) a.fresh++
      s.lastEventId = id
      if (id) c.sides?.delivered(id)
      return
    }
    case 'retry':
      // The server paces its clients: it speaks the protocol through this transport (proof).
      s.retryField = report[2]
      return confirm(true)
    case 'warn':
      a.unreadable++
      tell('error', report[2])
      // A transport that sends only what subwire cannot read has failed, not proven itself: at
      // once for a poll (a whole answer), after a few frames for a stream.
      if (!a.proven && a.unreadable >= (a.polls ? 1 : MAX_UNREADABLE)) ended(unreadable())
      return
    case 'end':
      // A clean end while the server paces its clients a second or more apart, with nothing sent
      // again: "nothing now, come back then", as a poll's empty answer says. Progress: the next
      // wait is the server's, as the native EventSource waits it.
      if (!report[2] && a.proven && !a.replayed && (s.retryField ?? 0) >= PACED) a.fresh++
      ended(report[2])
  }
}

/** An event from the main attempt: proof, the replay check, the resume point, delivery. */
function event(message: EventSourceMessage): void {
  const a = own()
  a.lastActivity = c.now
  confirm(true)
  const transport = nameOf()
  const { id } = message
  if (a.checking) {
    if (id === undefined) {
      // No id, nothing to drop it by: a greeting (`event: hello`) or a note in the replay. It
      // leaves the check on for the events with ids after it, and the resume point where it is
      // (the stream's own last id moved with the replay it dropped).
      if (message.lastEventId !== s.lastEventId) message = { ...message, lastEventId: s.lastEventId }
      // Development: three events without ids, first on a new connection, all delivered lately:
      // the server replays what it holds, and with no ids there is no resume point to drop them by.
      if (__DEV__ && a.echoes !== -1 && (a.echoes = c.again?.(message.data) ? (a.echoes ?? 0) + 1 : -1) === 3 && !s.toldReplay) {
        s.toldReplay = true
        tell('error', new ProtocolError(say('no-ids'), transport))
      }
    } else if (id) {
      // (An empty id, the server's "no resume point", has no place to check either.)
      // What a server sends first after a reconnect may be what was delivered already, in the
      // order it was delivered: the event it was asked to resume after (">=" for ">"; first, and
      // when it was delivered in an earlier page, by its id alone), or all it holds (it could not
      // read the resume point). Dropped; the resume point stays. An event delivered before but
      // not after the last one dropped is no replay: the same event again (ids that name the
      // stream, not a place in it). The same id with other data: the server's ids started again
      // (or name no place), so events may be missing.
      const at = c.seen(id, message.data)
      if (at === undefined ? a.at === undefined && a.from !== '' && id === a.from : at !== false && at > (a.at ?? -1)) {
        a.at = at || -1
        return void (id !== a.from && a.replayed++)
      }
      a.checking = false
      if (at === false) tell('reset', { transport, lastEventId: a.from })
    }
  }
  // protocol: a server that cannot resume from the id it was given says so with a `reset` event
  // without an id, first; what follows is no replay (its ids started again). (One with an id, or
  // later, or on a connection that was given no id, is the server's own, as the native object
  // delivers it.)
  if (message.type === 'reset' && id === undefined && !a.told && a.from) return void ((a.checking = false), tell('reset', { transport, lastEventId: a.from }))
  // New: an id, or without one, data other than the last event without an id had. (The first such
  // event, or the same data again — a greeting, or what the server holds sent again — is delivered
  // but shows no progress: without ids, newness shows only against what came before.)
  // (Without an id, the new print is stored as it is compared with the one before.)
  const plain = s.plain
  if (id !== undefined || (plain !== (s.plain = print(message.data)) && plain !== undefined)) a.fresh++
  s.lastEventId = message.lastEventId
  c.sides?.delivered(id ?? '')
  a.told = true
  tell('message', message, transport)
}

/** The main attempt proved itself (`proof`), or is trusted after its check. */
export function confirm(proof: boolean): void {
  const a = own()
  if (proof && !a.proven) {
    a.proven = true
    s.neg = proven(s.neg)
    s.missing = []
    s.slow = 0
    s.authRetried = false
    c.sides?.proven()
    if (!c.worked()) fx.push(['worked'])
  }
  // Proven: no more second opinions (a trusted connection on probation is cleared too).
  if (proof) arm('proof', undefined)
  if (a.openedAt !== undefined) return
  a.openedAt = c.now
  arm('proof', undefined)
  c.sides?.opened()
  log(proof ? 'proven' : 'open')
  setPhase('open')
  tell('open', { transport: nameOf(), status: a.details?.status, headers: a.details?.headers })
}

/** Watch for silence (one deadline, checked when it falls due). Polls have none. */
function watchSilence(): void {
  const { heartbeatTimeout } = c.options
  if (heartbeatTimeout && !s.deadlines.beat && !s.main!.polls) arm('beat', heartbeatTimeout)
}

const unreadable = () => new ProtocolError(say('unreadable'), nameOf(), false)

/**
 * End the attempt in use. A connection that made progress was healthy, however short: two or
 * more new events, or one (an event, a new id, a heartbeat it promised) while the server does not
 * ask to come back within a second (its `retry`) or after the server held the connection a second
 * or more once it answered (counted from its answer: a slow network does not make a loop look
 * held), or it stayed up `resetAfter`. Then the next wait follows the server and the count starts
 * again — as the native EventSource follows a server that sends one event per response, with an id
 * or without, held or not. What is left climbing is the loop: one event at once, and "come back at
 * once" (even on a slow network, where a connection takes a second, it reconnects at most once a
 * second, and MIN_CYCLE holds every reconnect after progress to two a second).
 */
export function stopMain(): void {
  const a = s.main
  if (!a) return
  const { resetAfter } = c.options.policy
  s.healthy = a.proven
    ? a.fresh > 1 || (a.fresh > 0 && ((s.retryField ?? PACED) >= PACED || c.now - a.acceptedAt! >= PACED)) || c.now - a.startedAt >= resetAfter
    : a.openedAt !== undefined && c.now - a.openedAt >= resetAfter
  if (s.healthy) s.backoff = progress()
  s.main = undefined
  fx.push(['stop', a.epoch])
  for (const key of ['retry', 'proof', 'beat', 'race', 'probe'] as const) arm(key, undefined)
  dropSide()
}

/** The attempt in use ended (its transport closed, or subwire gave up on it): what next? */
export function ended(error: SubwireError | undefined): void {
  const a = s.main!
  const from = nameOf()
  const { statuses, order, nodes, policy } = c.options
  // It sent again only what was delivered: it cannot read the resume point as it is sent.
  const stale = a.replayed && !a.fresh
  // A racing side takes the place of a main attempt that failed (sides.ts).
  if (!a.proven && c.sides?.ended(error)) return
  stopMain()
  // Nothing reached the server: the wait that follows is an outage's, also when the round of
  // transports that found it down ends on one that found it back and was answered no (the HTTP
  // transports of a WebSocket-only server: 404).
  if (a.acceptedAt === undefined && isUnreachable(error)) s.unreached = true
  // Nobody listens any more (the sharing grace after the last subscription left): done.
  if (s.idle) return finish()
  // One answer (oneShot): its clean end is the end; cut off after it began, it resumes only by id.
  if (c.options.oneShot && a.acceptedAt !== undefined) {
    if (!error) return finish(undefined, 'end')
    if (!s.lastEventId) return finish(new ConnectionError(say('cut-off'), from, undefined, error))
  }
  // Offline, every transport fails: that says nothing about them. Wait for the network.
  if (!c.online()) {
    if (error) tell('error', error)
    return pause('online')
  }
  let decision = classify(error, a.openedAt !== undefined, statuses)
  // A 401 or 403 may be an expired token: ask the providers again once, at once, before giving up.
  const status = (error as HttpError | undefined)?.status
  const auth = (status === 401 || status === 403) && !s.authRetried && !statuses[status]
  if (auth) {
    s.authRetried = true
    decision = 'retry'
  }
  if (decision === 'fatal') return finish(error)
  // "No stream here", definitely: a non-retryable HTTP answer, or a WebSocket that never opened
  // (which cannot tell a missing endpoint from a server that is down: it counts only beside an
  // HTTP answer).
  if (error instanceof HttpError ? !error.retryable && !statuses[status!] : from === 'websocket' && a.acceptedAt === undefined && error?.kind === 'connection') {
    s.missing = [...s.missing, `${a.node} ${from}`, ...(error instanceof HttpError ? ['http'] : [])]
  }
  if (decision === 'fallback') {
    const { next, round } = fallback(s.neg, order.length, nodes.length, error?.kind === 'buffered' ? order.indexOf('longpoll') : -1)
    if (!(error instanceof TimeoutError && error.retryable)) s.failed |= 1 << a.index
    s.neg = next
    if (!round) {
      log('fallback', { error }, from)
      if (error) tell('error', error)
      return connect()
    }
    // A whole round failed. Fatal only for an endpoint that never worked in this page and that
    // every transport (on every node) said does not exist: a restart is never fatal.
    if (new Set(s.missing).size > order.length * nodes.length && !c.worked()) return finish(error)
    s.missing = []
  }
  const hint = (error as HttpError | ConnectionError | undefined)?.retryAfter ?? s.retryField
  let delay: number | false = 0
  if (!auth) [s.backoff, delay] = failed(s.backoff, policy, c.now, error, hint, !!s.unreached, c.random, c.options.customRetry, c.report)
  s.unreached = false
  // However a server that made progress paces itself, at most two connects a second.
  if (delay !== false && s.healthy) delay = Math.max(delay, MIN_CYCLE - (c.now - a.startedAt))
  if (delay === false) return finish(error ?? new ConnectionError(say('gave-up'), from))
  arm('retry', delay)
  s.retryHinted = hint !== undefined && !auth
  log('retry', { delay, error }, from)
  if (error) tell('error', error)
  if (stale && !s.toldReplay) {
    s.toldReplay = true
    tell('error', new ProtocolError(say('stale', c.options.lastEventIdParam), from))
  }
  setPhase('reconnecting', { delay, error })
}

/** Stop and wait for the page to be online, visible or shown again. */
function pause(reason: NonNullable<StateChange['waitingFor']>): void {
  stopMain()
  s.waitingFor = reason
  log('pause', { waitingFor: reason })
  setPhase('reconnecting', { waitingFor: reason })
}

/** The end: nothing is left behind — transports, deadlines, page listeners. */
export function finish(error?: SubwireError, reason: StateChange['reason'] = error ? 'error' : 'close'): void {
  stopMain()
  if (s.phase !== 'idle') fx.push(['page', false])
  s.phase = 'closed'
  s.deadlines = {}
  log('close', { error })
  fx.push(['closed', { state: 'closed', transport: nameOf(), attempt: s.backoff.attempt, error, reason }, error])
}

// --- deadlines --------------------------------------------------------------------------------

/** The attempt in use had its time to prove itself and did not (or, trusted, is silent still). */
function proofDue(): void {
  const a = s.main!
  const name = nameOf()
  const { silent } = c.options
  if (a.proven) return
  // Trusted after a check that had nothing to say, and silent since: ask again.
  if (a.openedAt !== undefined) return void c.sides?.silent()
  if (a.unreadable) return ended(unreadable())
  if (a.acceptedAt === undefined) {
    s.slow++
    log('timeout')
    return ended(new TimeoutError(say('no-answer', a.proofTimeout, c.diagnose?.(name)), name))
  }
  // Accepted, then silent: a quiet server, or a proxy (or a stalled server) that starves this
  // transport? As the `silent` option says; by default the next transport gives a second opinion.
  if (silent === 'fallback') return ended(new TimeoutError(say('starved'), name, false))
  if (silent !== 'check' || !c.sides?.silent()) confirm(false)
}

/** Every deadline that fell due, in a fixed order. */
function tick(): void {
  const { heartbeatTimeout } = c.options
  for (const key of ['grace', 'watch', 'retry', 'proof', 'beat', 'race', 'probe', 'side'] as const) {
    const at = s.deadlines[key]
    if (at === undefined || at > c.now || s.phase === 'closed') continue
    arm(key, undefined)
    const a = s.main
    if (key === 'grace') finish()
    else if (key === 'watch') {
      // The sleep watchdog. More than JUMP ms late with nothing received meanwhile: the page was
      // asleep (a hidden tab's throttled timers run at most about a minute late), so the
      // connection is not trusted and is replaced at once.
      arm('watch', WATCH)
      if (c.now - at > JUMP && a && a.lastActivity <= at - WATCH) resume()
    } else if (key === 'retry') connect()
    else if (!a) continue
    else if (key === 'proof') proofDue()
    else if (key !== 'beat') c.sides?.tick(key)
    else if (c.now - a.lastActivity < heartbeatTimeout) arm('beat', heartbeatTimeout - c.now + a.lastActivity)
    else {
      log('timeout')
      ended(new TimeoutError(say('silent', heartbeatTimeout), nameOf()))
    }
  }
}

// --- inputs from the page ---------------------------------------------------------------------

function onPage(type: string): void {
  if (type === 'offline') {
    // An open stream may well survive a short loss; one being set up or waited for stops, and
    // so does a poll (each request is a new connection).
    if (s.phase !== 'open' || s.main?.polls) pause('online')
  } else if (type === 'pagehide' || type === 'freeze') {
    // Release the connection so the page can enter the back/forward cache or be frozen.
    pause('pageshow')
  } else if (type === 'visibilitychange' && c.hidden()) {
    if (c.options.pauseWhenHidden) pause('visible')
  } else if (
    s.waitingFor === (type === 'visibilitychange' ? 'visible' : type === 'resume' ? 'pageshow' : type) ||
    (s.deadlines.retry !== undefined && !s.retryHinted && type !== 'pageshow' && type !== 'resume')
  ) {
    // Online again, visible again, back from the cache: whatever was waiting goes now (but a
    // wait the server asked for is kept).
    resume()
  }
}
