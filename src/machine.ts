// The connection as data and one pure transition function, in the manner of the "sans-I/O"
// protocol cores (h11, quinn-proto): `step(state, input, ctx)` returns the next state and the
// effects to run — open or stop a transport, emit to listeners, log, remember — and never touches a
// socket, a timer or a listener itself. Time and randomness come in through `ctx`. Deadlines are
// data (`state.deadlines`, absolute times): the driver (connection.ts) arms one timer for the
// earliest and feeds `tick` when it fires. The driver stores the state before it runs any effect,
// so user code that re-enters (a listener that calls close()) meets a finished transition.
//
// The decision table of docs/transports-and-reconnect.md is what `ended()` implements; the policies
// it asks stay small pure modules: classify.ts (retry / fall back / fatal), backoff.ts (how long),
// negotiate.ts (which transport next). Side connections (a race of the next transport, a probe of
// a better one, the remembered transport) are a plug-in (sides.ts): without it, a connection that
// is accepted and silent is trusted, and nothing runs beside it.
import { BACKOFF, failed, progress, type Backoff } from './backoff'
import { classify } from './classify'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError } from './errors'
import { fallback, negotiation, proven as provenNeg, type Negotiation } from './negotiate'
import type { Resolved } from './options'
import type { EventSourceMessage } from './parser'
import type { OpenDetails } from './transports/types'
import type { LogRecord, StateChange, TransportName } from './types'
import { say } from './text'

/** The deadlines a connection keeps; the driver arms one timer for the earliest. */
export type Key = 'retry' | 'proof' | 'beat' | 'race' | 'probe' | 'side' | 'watch' | 'grace'

/** One connection attempt: the one in use (`main`), or one on the side (`side`). */
export interface Attempt {
  readonly epoch: number
  readonly index: number
  readonly node: number
  readonly startedAt: number
  /** The server accepted it (a WebSocket open, an HTTP 200 of the right type). */
  readonly accepted: boolean
  /** It showed an event, a heartbeat or an id. */
  readonly proven: boolean
  /** When it became `open` (proven, or accepted and trusted after its check). */
  readonly openedAt: number | undefined
  readonly lastActivity: number
  readonly unreadable: number
  readonly heartbeats: number
  /** Where it resumed from, and whether its first events are still checked for replays. */
  readonly from: string
  readonly checking: boolean
  /** New events (and promised heartbeats); whether one had a new id; events it sent again. */
  readonly fresh: number
  readonly identified: boolean
  readonly replayed: number
  /** It polls (each request has its own deadline: no heartbeats to watch); the time it has to prove itself. */
  readonly polls: boolean
  readonly proofTimeout: number
  readonly details: OpenDetails | undefined
  /** Side connections: a race of the next transport, or a probe of a better one. */
  readonly purpose?: 'race' | 'probe' | undefined
  /** A probe: ids it delivered, and events it delivered without one. */
  readonly ids?: readonly string[]
  readonly noIds?: number
}

export interface State {
  readonly phase: 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'
  readonly main: Attempt | undefined
  readonly side: Attempt | undefined
  readonly neg: Negotiation
  readonly backoff: Backoff
  /** The last epoch given to an attempt. */
  readonly epoch: number
  /** The transport (index) the last main attempt used: what a state change names while none runs. */
  readonly tried: number
  readonly lastEventId: string
  /** The server's `retry` field. */
  readonly retryField: number | undefined
  readonly waitingFor: StateChange['waitingFor']
  readonly authRetried: boolean
  /** The retry that is waiting was asked for by the server (page events do not cut it short). */
  readonly retryHinted: boolean
  /** The attempt that ended last made progress. */
  readonly healthy: boolean
  readonly toldReplay: boolean
  /** "No such endpoint" answers since the last proven connection (node and transport). */
  readonly missing: readonly string[]
  /** Transports on which this server showed a heartbeat cadence. */
  readonly cadence: readonly TransportName[]
  /** Transports (indices) seen to fail outright, so that a lower one may be remembered. */
  readonly failed: readonly number[]
  /** Checks of a trusted, silent connection so far. */
  readonly rechecks: number
  /** Ids the connection in use delivered while a probe runs. */
  readonly mainIds: readonly string[]
  readonly remembered: TransportName | undefined
  /** Nobody listens (the grace after the last subscription left). */
  readonly idle: boolean
  readonly deadlines: Readonly<Partial<Record<Key, number>>>
}

export type Input =
  | { readonly t: 'start' }
  | { readonly t: 'tick' }
  | { readonly t: 'handle'; readonly epoch: number; readonly polls: boolean; readonly proofTimeout: number | undefined }
  | { readonly t: 'open'; readonly epoch: number; readonly details: OpenDetails | undefined }
  | { readonly t: 'heartbeat' | 'activity'; readonly epoch: number }
  | { readonly t: 'event'; readonly epoch: number; readonly message: EventSourceMessage }
  | { readonly t: 'id'; readonly epoch: number; readonly id: string }
  | { readonly t: 'retry'; readonly epoch: number; readonly ms: number }
  | { readonly t: 'warn'; readonly epoch: number; readonly error: SubwireError }
  | { readonly t: 'end'; readonly epoch: number; readonly error: SubwireError | undefined }
  | { readonly t: 'page'; readonly event: string }
  | { readonly t: 'reconnect' | 'detach' | 'attach' | 'finish' }

export type Effect =
  | { readonly t: 'connect'; readonly attempt: Attempt }
  | { readonly t: 'stop'; readonly epoch: number }
  | { readonly t: 'message'; readonly message: EventSourceMessage; readonly transport: TransportName }
  | { readonly t: 'state'; readonly change: StateChange }
  | { readonly t: 'open'; readonly transport: TransportName; readonly details: OpenDetails | undefined }
  | { readonly t: 'error'; readonly error: SubwireError }
  | { readonly t: 'reset'; readonly transport: TransportName; readonly lastEventId: string }
  | { readonly t: 'log'; readonly record: LogRecord }
  | { readonly t: 'remember'; readonly name: TransportName }
  | { readonly t: 'page'; readonly on: boolean }
  | { readonly t: 'worked' }
  | { readonly t: 'closed'; readonly change: StateChange; readonly error: SubwireError | undefined }

/** What a step may read besides the state and the input: time, randomness, the options, the page. */
export interface Ctx {
  readonly now: number
  readonly random: () => number
  readonly options: Resolved
  /** How long a shared connection outlives its last subscription. */
  readonly grace: number
  online(): boolean
  hidden(): boolean
  /** The replay window: delivered before (same id, same data), same id with other data, or not seen. */
  seen(id: string, data: string): boolean | undefined
  /** The endpoint worked in this page. */
  worked(): boolean
  /** User code that failed (the retry function). */
  report(error: unknown): void
  /** Side connections and the remembered transport (sides.ts), when the entry brings them. */
  readonly sides: Sides | undefined
  /** Development only: why an attempt got no answer (the six-connection limit of HTTP/1.1). */
  readonly diagnose?: ((transport: TransportName) => string | undefined) | undefined
}

/** The side-connection plug-in's part in a step (sides.ts). Each hook changes the draft. */
export interface Sides {
  /** The main attempt started (a stream: a long poll proves itself only when answered). */
  started(d: Draft): void
  /** The main attempt proved itself. */
  proven(d: Draft): void
  /** The main attempt is open (proven, or trusted). */
  opened(d: Draft): void
  /** The proof deadline of an accepted, silent main attempt: `true` when a check runs instead. */
  silent(d: Draft): boolean
  /** The main attempt ended: `true` when a racing side took its place. */
  ended(d: Draft, error: SubwireError | undefined): boolean
  /** A deadline of the plug-in fell due: 'race', 'probe' or 'side'. */
  tick(d: Draft, key: Key): void
  /** An input of the side attempt. */
  side(d: Draft, input: Input & { epoch: number }): void
  /** The main attempt delivered an event with this id. */
  delivered(d: Draft, id: string): void
}

/** A step in progress: the next state being built (a copy: the input state is never changed) and its effects. */
export interface Draft {
  s: Mutable<State>
  readonly fx: Effect[]
  readonly c: Ctx
  /** The copy of the attempt in use that this step changes (see `own`). */
  mine?: Mutable<Attempt>
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The sleep watchdog: fires every WATCH ms; more than WATCH + JUMP ms late with nothing received means the page slept. */
export const WATCH = 10000
export const JUMP = 60000
/** Frames subwire cannot read, before proof, that fail a streaming connection (one poll body fails a poll). */
const MAX_UNREADABLE = 3
/** The shortest time from one connect to the next after progress: at most two a second. */
const MIN_CYCLE = 500
/** A connection that delivered a single new event is healthy only when the server paces reconnects at least this far apart. */
const PACED = 1000

export function initial(options: Resolved, remembered?: TransportName): State {
  const neg = negotiation(options.order, remembered)
  return {
    phase: 'idle',
    main: undefined,
    side: undefined,
    neg,
    backoff: BACKOFF,
    epoch: 0,
    tried: neg.index,
    lastEventId: options.lastEventId,
    retryField: undefined,
    waitingFor: undefined,
    authRetried: false,
    retryHinted: false,
    healthy: false,
    toldReplay: false,
    missing: [],
    cadence: [],
    failed: [],
    rechecks: 0,
    mainIds: [],
    remembered,
    idle: false,
    deadlines: {},
  }
}

/** The transition function: the next state and the effects, for one input. */
export function step(state: State, input: Input, c: Ctx): { state: State; effects: Effect[] } {
  const d: Draft = { s: { ...state }, fx: [], c }
  if (state.phase === 'closed') return { state, effects: [] }
  if ('epoch' in input) {
    if (input.epoch === state.main?.epoch) onMain(d, input)
    else if (input.epoch === state.side?.epoch) c.sides?.side(d, input)
    return { state: d.s, effects: d.fx }
  }
  switch (input.t) {
    case 'start':
      start(d)
      break
    case 'tick':
      tick(d)
      break
    case 'page':
      onPage(d, input)
      break
    case 'reconnect':
      if (state.phase === 'idle') break
      log(d, 'resume')
      stopMain(d)
      connect(d)
      break
    case 'detach':
      d.s.idle = true
      if (c.grace) arm(d, 'grace', c.grace)
      else finish(d)
      break
    case 'attach':
      d.s.idle = false
      arm(d, 'grace', undefined)
      break
    case 'finish':
      finish(d)
  }
  return { state: d.s, effects: d.fx }
}

// --- helpers every part of a step uses --------------------------------------------------------

export const nameOf = (d: Draft, a: Attempt | undefined = d.s.main) => d.c.options.order[a ? a.index : d.s.tried]!

/** The attempt in use, as a copy this step may change: made once per step, so every part of the step changes the same one. */
export function own(d: Draft): Mutable<Attempt> {
  if (d.mine !== d.s.main) d.mine = d.s.main = { ...d.s.main! }
  return d.mine!
}

/** Set (ms from now) or clear (undefined) a deadline. */
export function arm(d: Draft, key: Key, ms: number | undefined): void {
  d.s.deadlines = { ...d.s.deadlines, [key]: ms === undefined ? undefined : d.c.now + ms }
}

export function log(d: Draft, type: LogRecord['type'], extra?: Partial<LogRecord>, transport: TransportName | undefined = nameOf(d)): void {
  if (d.c.options.log) d.fx.push({ t: 'log', record: { type, transport, ...extra } })
}

function setPhase(d: Draft, phase: 'connecting' | 'open' | 'reconnecting', extra?: Partial<StateChange>): void {
  d.s.phase = phase
  d.fx.push({ t: 'state', change: { state: phase, transport: nameOf(d), attempt: d.s.backoff.attempt, ...extra } })
}

/** A new attempt on transport `index` of node `node`. */
export function attempt(d: Draft, index: number, node: number, purpose?: 'race' | 'probe'): Attempt {
  const now = d.c.now
  const a: Attempt = {
    epoch: ++d.s.epoch,
    index,
    node,
    startedAt: now,
    accepted: false,
    proven: false,
    openedAt: undefined,
    lastActivity: now,
    unreadable: 0,
    heartbeats: 0,
    from: d.s.lastEventId,
    checking: true,
    fresh: 0,
    identified: false,
    replayed: 0,
    polls: false,
    proofTimeout: d.c.options.connectTimeout,
    details: undefined,
    purpose,
    ids: [],
    noIds: 0,
  }
  d.fx.push({ t: 'connect', attempt: a })
  return a
}

/** Stop the side attempt, if any. A probe stopped before it showed anything counts as failed. */
export function dropSide(d: Draft): void {
  const side = d.s.side
  if (side?.purpose === 'probe' && !side.proven) d.s.failed = [...d.s.failed, side.index]
  if (side) d.fx.push({ t: 'stop', epoch: side.epoch })
  d.s.side = undefined
  d.s.mainIds = []
  arm(d, 'side', undefined)
}

// --- the main attempt -------------------------------------------------------------------------

/** Connect on the transport and node in use (or wait for the page). */
export function connect(d: Draft): void {
  const { s, c } = d
  arm(d, 'retry', undefined)
  s.waitingFor = undefined
  if (!c.online()) return pause(d, 'online')
  if (c.options.pauseWhenHidden && c.hidden()) return pause(d, 'visible')
  s.main = attempt(d, (s.tried = s.neg.index), s.neg.node)
  log(d, 'connect')
  setPhase(d, 'connecting')
}

/** An input of the attempt in use. */
export function onMain(d: Draft, input: Input & { epoch: number }): void {
  const { s, c } = d
  const a = own(d)
  switch (input.t) {
    case 'handle':
      a.polls = input.polls
      arm(d, 'proof', (a.proofTimeout = input.proofTimeout ?? c.options.connectTimeout))
      if (s.cadence.includes(nameOf(d))) watchSilence(d)
      // A long poll proves itself only when answered (after the server's hold time): no race.
      if (!input.proofTimeout) c.sides?.started(d)
      return
    case 'open':
      // Open again: the transport reconnected by itself (the native EventSource, sending
      // Last-Event-ID): what the server sends first is checked for replays again.
      if (a.accepted) return void ((a.from = s.lastEventId), (a.checking = true))
      a.accepted = true
      a.details = input.details
      if (input.details?.proven) confirm(d, true)
      return
    case 'activity':
      a.lastActivity = c.now
      return
    case 'heartbeat':
      a.lastActivity = c.now
      confirm(d, true)
      // A second heartbeat shows a cadence (a first may be a greeting): silence is watched from
      // now on, and from the start of every later connection of this transport.
      if (++a.heartbeats > 1 && !s.cadence.includes(nameOf(d))) s.cadence = [...s.cadence, nameOf(d)]
      if (s.cadence.includes(nameOf(d))) {
        // A heartbeat the server promised, a second or more in: progress.
        if (c.now - a.startedAt >= PACED) (a.fresh++, (a.identified = true))
        watchSilence(d)
      }
      return
    case 'event':
      return event(d, input.message)
    case 'id':
      confirm(d, true)
      if (input.id !== s.lastEventId) (a.fresh++, (a.identified = true))
      s.lastEventId = input.id
      if (input.id) c.sides?.delivered(d, input.id)
      return
    case 'retry':
      s.retryField = input.ms
      return
    case 'warn':
      a.unreadable++
      d.fx.push({ t: 'error', error: input.error })
      // A transport that sends only what subwire cannot read has failed, not proven itself: at
      // once for a poll (a whole answer), after a few frames for a stream.
      if (!a.proven && a.unreadable >= (a.polls ? 1 : MAX_UNREADABLE)) ended(d, unreadable(d))
      return
    case 'end':
      return ended(d, input.error)
  }
}

/** An event from the main attempt: proof, the replay check, the resume point, delivery. */
function event(d: Draft, message: EventSourceMessage): void {
  const { s, c } = d
  const a = own(d)
  a.lastActivity = c.now
  confirm(d, true)
  const transport = nameOf(d)
  const { id } = message
  if (a.checking) {
    // What a server sends first after a reconnect may be what was delivered already: the event
    // it was asked to resume after (">=" for ">"), or all it holds (it could not read the
    // resume point). Dropped; the resume point stays. The same id with other data: the
    // server's ids started again, so events may be missing.
    const known = id === undefined ? undefined : (a.from !== '' && id === a.from) || c.seen(id, message.data)
    if (known) return void (id !== a.from && a.replayed++)
    a.checking = false
    if (known === false) d.fx.push({ t: 'reset', transport, lastEventId: a.from })
  }
  // protocol: a server that cannot resume from the id it was given says so with a `reset` event.
  if (message.type === 'reset') return void d.fx.push({ t: 'reset', transport, lastEventId: a.from })
  a.fresh++
  if (id !== undefined) a.identified = true
  s.lastEventId = message.lastEventId
  if (id) c.sides?.delivered(d, id)
  d.fx.push({ t: 'message', message, transport })
}

/** The main attempt proved itself (`proof`), or is trusted after its check. */
export function confirm(d: Draft, proof: boolean): void {
  const { s, c } = d
  const a = own(d)
  if (proof && !a.proven) {
    a.proven = true
    s.neg = provenNeg(s.neg)
    s.missing = []
    s.authRetried = false
    c.sides?.proven(d)
    if (!c.worked()) d.fx.push({ t: 'worked' })
  }
  // Proven: no more second opinions (a trusted connection on probation is cleared too).
  if (proof) arm(d, 'proof', undefined)
  if (a.openedAt !== undefined) return
  a.openedAt = c.now
  arm(d, 'proof', undefined)
  c.sides?.opened(d)
  log(d, proof ? 'proven' : 'open')
  setPhase(d, 'open')
  d.fx.push({ t: 'open', transport: nameOf(d), details: a.details })
}

/** Watch for silence (one deadline, checked when it falls due). Polls have none. */
function watchSilence(d: Draft): void {
  const { heartbeatTimeout } = d.c.options
  if (heartbeatTimeout && !d.s.deadlines.beat && !d.s.main!.polls) arm(d, 'beat', heartbeatTimeout)
}

const unreadable = (d: Draft) => new ProtocolError(say('unreadable'), nameOf(d), false)

/**
 * End the attempt in use. A connection that made progress was healthy, however short: two or
 * more new events, or one with a new id (or a heartbeat it promised) while the server does not
 * ask to come back within a second (its `retry`), or it stayed up `resetAfter`. Then the next
 * wait follows the server and the count starts again. (How long the connection took is not part
 * of it: a slow machine does not turn a reconnect loop into progress.)
 */
export function stopMain(d: Draft): void {
  const { s, c } = d
  const a = s.main
  if (!a) return
  const { policy } = c.options
  const lifetime = c.now - a.startedAt
  s.healthy = a.proven
    ? a.fresh > 1 || (a.identified && (s.retryField ?? PACED) >= PACED) || lifetime >= policy.resetAfter
    : a.openedAt !== undefined && c.now - a.openedAt >= policy.resetAfter
  if (s.healthy) s.backoff = progress()
  s.main = undefined
  d.fx.push({ t: 'stop', epoch: a.epoch })
  for (const key of ['retry', 'proof', 'beat', 'race', 'probe'] as const) arm(d, key, undefined)
  dropSide(d)
}

/** The attempt in use ended (its transport closed, or subwire gave up on it): what next? */
export function ended(d: Draft, error: SubwireError | undefined): void {
  const { s, c } = d
  const a = s.main!
  const from = nameOf(d)
  const { statuses, order, nodes, policy } = c.options
  // It sent again only what was delivered: it cannot read the resume point as it is sent.
  const stale = a.replayed && !a.fresh
  // A racing side takes the place of a main attempt that failed (sides.ts).
  if (!a.proven && c.sides?.ended(d, error)) return
  stopMain(d)
  // Nobody listens any more (the sharing grace after the last subscription left): done.
  if (s.idle) return finish(d)
  // Offline, every transport fails: that says nothing about them. Wait for the network.
  if (!c.online()) {
    if (error) d.fx.push({ t: 'error', error })
    return pause(d, 'online')
  }
  let decision = classify(error, a.openedAt !== undefined, statuses)
  // A 401 or 403 may be an expired token: ask the providers again once, at once, before giving up.
  const status = (error as HttpError | undefined)?.status
  const auth = (status === 401 || status === 403) && !s.authRetried && !statuses[status]
  if (auth) {
    s.authRetried = true
    decision = 'retry'
  }
  if (decision === 'fatal') return finish(d, error)
  // "No stream here", definitely: a non-retryable HTTP answer, or a WebSocket that never opened
  // (which cannot tell a missing endpoint from a server that is down: it counts only beside an
  // HTTP answer).
  if (error instanceof HttpError ? !error.retryable && !statuses[status!] : from === 'websocket' && !a.accepted && error?.kind === 'connection') {
    s.missing = [...s.missing, `${a.node} ${from}`, ...(error instanceof HttpError ? ['http'] : [])]
  }
  if (decision === 'fallback') {
    const { next, round } = fallback(s.neg, order.length, nodes.length, error?.kind === 'buffered' ? order.indexOf('longpoll') : -1)
    if (!(error instanceof TimeoutError && error.retryable)) s.failed = [...s.failed, a.index]
    s.neg = next
    if (!round) {
      log(d, 'fallback', { error }, from)
      if (error) d.fx.push({ t: 'error', error })
      return connect(d)
    }
    // A whole round failed. Fatal only for an endpoint that never worked in this page and that
    // every transport (on every node) said does not exist: a restart is never fatal.
    if (new Set(s.missing).size > order.length * nodes.length && !c.worked()) return finish(d, error)
    s.missing = []
  }
  const hint = (error as HttpError | ConnectionError | undefined)?.retryAfter ?? s.retryField
  let delay: number | false = 0
  if (!auth) [s.backoff, delay] = failed(s.backoff, policy, c.now, error, hint, !a.accepted, c.random, c.options.customRetry, c.report)
  // However a server that made progress paces itself, at most two connects a second.
  if (delay !== false && s.healthy) delay = Math.max(delay, MIN_CYCLE - (c.now - a.startedAt))
  if (delay === false) return finish(d, error ?? new ConnectionError(say('gave-up'), from))
  arm(d, 'retry', delay)
  s.retryHinted = hint !== undefined && !auth
  log(d, 'retry', { delay, error }, from)
  if (error) d.fx.push({ t: 'error', error })
  if (stale && !s.toldReplay) {
    s.toldReplay = true
    d.fx.push({ t: 'error', error: new ProtocolError(say('stale', c.options.lastEventIdParam), from) })
  }
  setPhase(d, 'reconnecting', { delay, error })
}

/** Stop and wait for the page to be online, visible or shown again. */
function pause(d: Draft, reason: NonNullable<StateChange['waitingFor']>): void {
  stopMain(d)
  d.s.waitingFor = reason
  log(d, 'pause', { waitingFor: reason })
  setPhase(d, 'reconnecting', { waitingFor: reason })
}

/** The end: nothing is left behind — transports, deadlines, page listeners. */
export function finish(d: Draft, error?: SubwireError): void {
  const { s } = d
  stopMain(d)
  const listening = s.phase !== 'idle'
  s.phase = 'closed'
  s.deadlines = {}
  if (listening) d.fx.push({ t: 'page', on: false })
  log(d, 'close', { error })
  d.fx.push({ t: 'closed', error, change: { state: 'closed', transport: nameOf(d), attempt: s.backoff.attempt, error } })
}

// --- deadlines --------------------------------------------------------------------------------

/** The attempt in use had its time to prove itself and did not (or, trusted, is silent still). */
function proofDue(d: Draft): void {
  const { s, c } = d
  const a = s.main!
  const name = nameOf(d)
  if (a.proven) return
  // Trusted after a check that had nothing to say, and silent since: ask again.
  if (a.openedAt !== undefined) return void c.sides?.silent(d)
  if (a.unreadable) return ended(d, unreadable(d))
  if (!a.accepted) {
    log(d, 'timeout')
    return ended(d, new TimeoutError(say('no-answer', a.proofTimeout, c.diagnose?.(name)), name))
  }
  // Accepted, then silent: a quiet server, or a proxy (or a stalled server) that starves this
  // transport? As the `silent` option says; by default the next transport gives a second opinion.
  if (c.options.silent === 'fallback') return ended(d, new TimeoutError(say('starved', c.options.connectTimeout), name, false))
  if (c.options.silent !== 'check' || !c.sides?.silent(d)) confirm(d, false)
}

function beatDue(d: Draft): void {
  const { s, c } = d
  const { heartbeatTimeout } = c.options
  const idle = c.now - s.main!.lastActivity
  if (idle < heartbeatTimeout) return arm(d, 'beat', heartbeatTimeout - idle)
  arm(d, 'beat', undefined)
  log(d, 'timeout')
  ended(d, new TimeoutError(say('silent', heartbeatTimeout), nameOf(d)))
}

/** Every deadline that fell due, in a fixed order. */
function tick(d: Draft): void {
  const { s, c } = d
  for (const key of ['grace', 'watch', 'retry', 'proof', 'beat', 'race', 'probe', 'side'] as const) {
    const at = s.deadlines[key]
    if (at === undefined || at > c.now || s.phase === 'closed') continue
    arm(d, key, undefined)
    if (key === 'grace') finish(d)
    else if (key === 'watch') watchdog(d, at)
    else if (key === 'retry') connect(d)
    else if (!s.main) continue
    else if (key === 'proof') proofDue(d)
    else if (key === 'beat') beatDue(d)
    else c.sides?.tick(d, key)
  }
}

/**
 * The sleep watchdog. When it falls due more than JUMP ms late and nothing arrived meanwhile,
 * the page was asleep (a hidden tab's throttled timers run at most about a minute late): the
 * connection is not trusted and is replaced at once.
 */
function watchdog(d: Draft, due: number): void {
  const { s, c } = d
  arm(d, 'watch', WATCH)
  if (c.now - due > JUMP && s.main && s.main.lastActivity <= due - WATCH) {
    log(d, 'resume')
    stopMain(d)
    connect(d)
  }
}

// --- inputs from the page and the user --------------------------------------------------------

function onPage(d: Draft, { event: type }: { event: string }): void {
  const { s, c } = d
  if (type === 'offline') {
    // An open stream may well survive a short loss; one being set up or waited for stops, and
    // so does a poll (each request is a new connection).
    if (s.phase !== 'open' || s.main?.polls) pause(d, 'online')
  } else if (type === 'pagehide' || type === 'freeze') {
    // Release the connection so the page can enter the back/forward cache or be frozen.
    pause(d, 'pageshow')
  } else if (type === 'visibilitychange' && c.hidden()) {
    if (c.options.pauseWhenHidden) pause(d, 'visible')
  } else if (
    s.waitingFor === (type === 'visibilitychange' ? 'visible' : type === 'resume' ? 'pageshow' : type) ||
    (s.deadlines.retry !== undefined && !s.retryHinted && type !== 'pageshow' && type !== 'resume')
  ) {
    // Online again, visible again, back from the cache: whatever was waiting goes now (but a
    // wait the server asked for is kept).
    log(d, 'resume')
    stopMain(d)
    connect(d)
  }
}

function start(d: Draft): void {
  if (!d.c.options.order.length) return finish(d, new SubwireError('unsupported', say('unsupported'), undefined, false))
  d.s.phase = 'connecting'
  d.fx.push({ t: 'page', on: true })
  arm(d, 'watch', WATCH)
  connect(d)
}
