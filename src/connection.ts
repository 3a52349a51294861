// The one state machine that owns a connection's life: which transport runs, the resume point,
// proof and liveness, backoff, probes, page lifecycle and every timer. Transports only report;
// subscriptions only listen. One connection can serve many subscriptions (see share.ts).
//
// Callback discipline: each transition finishes its bookkeeping (timers, handles, counters) before
// any user code runs (listeners, providers, the retry function, log), and every timer is armed
// through `arm()`, which refuses once the connection is closed, so user code that closes it midway
// leaves nothing behind. Every callback of an attempt carries the attempt's epoch; a stale one is
// ignored.
import { createBackoff } from './backoff'
import { createSeen } from './seen'
import { classify } from './classify'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError } from './errors'
import { current, fallback, negotiation, probeFailed, probeTarget, proven, upgraded } from './negotiate'
import type { Resolved } from './options'
import type { EventSourceMessage } from './parser'
import { recall, remember } from './remember'
import type { OpenDetails, Transport, TransportContext, TransportHandle, TransportSink } from './transports/types'
import type { LogRecord, OpenInfo, ResetInfo, State, StateChange, TransportName } from './types'
import { withParams } from './url'

/** What a connection tells each subscription that listens to it. */
export interface ConnectionListener {
  message(message: EventSourceMessage, transport: TransportName): void
  error(error: SubwireError): void
  state(change: StateChange): void
  open(info: OpenInfo): void
  /** The server could not resume from `lastEventId`: events may have been missed. */
  reset(info: ResetInfo): void
}

export interface Connection {
  /** Start listening; `false` when the connection already closed. */
  attach(listener: ConnectionListener): boolean
  /** Stop listening; the connection closes when the last listener left (after `grace` ms). */
  detach(listener: ConnectionListener): void
  /** Drop the connection in use and connect again now, resuming from the last event id. */
  reconnect(): void
  /** An event type got a listener (native EventSource subscribes by name). */
  listen(type: string): void
  readonly state: State
  readonly transport: TransportName | undefined
  readonly lastEventId: string
  readonly attempt: number
  readonly waitingFor: StateChange['waitingFor']
}

/** Transport implementations by name, as exported by `subwire/core`. */
export type Transports = Partial<Record<TransportName, Transport>>

/** Page events that pause or resume a connection. */
const PAGE_EVENTS = ['online', 'offline', 'visibilitychange', 'pagehide', 'pageshow', 'freeze', 'resume']

/**
 * The sleep watchdog: a timer every WATCH ms. When it fires more than WATCH + JUMP ms after the
 * last one and nothing arrived meanwhile, the page was asleep (a hidden tab's throttled timers run
 * at most about a minute late): the connection is not trusted and is replaced at once.
 */
const WATCH = 10000
const JUMP = 60000
/** Frames subwire cannot read, before proof, that fail a streaming connection (one poll body fails a poll). */
const MAX_UNREADABLE = 3
/** Recent ids kept while a probe runs, to find the same event on both transports. */
const RING = 64
/** The shortest time from one connection's start to the next's: at most two connects a second, whatever a server asks. */
const MIN_CYCLE = 500
/** A connection that delivered a single new event is healthy only when the server paces reconnects at least this far apart. */
const PACED = 1000

/** Endpoints that worked, per page (`env.window`): a missing endpoint there is a restart, never fatal. */
const workedIn = new WeakMap<object, Set<string>>()
const nowhere = {}

/** A listener threw: report it as the DOM does for event listeners, and go on. */
export function report(error: unknown): void {
  ;(globalThis as { reportError?: (e: unknown) => void }).reportError?.(error)
}

const TOKEN = /^[!#$%&'*+.^_`|~\w-]+$/
const VALUE = /^[^\0\r\n\u0100-\uffff]*$/

/** A provider's result as a record of strings; a `config` error names what is wrong with it. */
async function provide(
  provider: unknown,
  headers: boolean,
  name: TransportName,
  canSendHeaders: boolean,
): Promise<Record<string, string>> {
  let value: unknown
  try {
    value = typeof provider === 'function' ? await provider({ transport: name, canSendHeaders }) : provider
  } catch (cause) {
    throw new SubwireError('provider', `the ${headers ? 'headers' : 'query'} function failed (${cause}); retrying with backoff`, name, true, cause)
  }
  const out: Record<string, string> = {}
  for (const key in value as object) {
    const raw = (value as Record<string, unknown>)[key]
    if (raw === undefined) continue
    const text = (out[key] = String(raw))
    if (headers && !(TOKEN.test(key) && VALUE.test(text))) {
      throw new SubwireError('config', `the headers option gave an invalid header "${key.slice(0, 40)}"`, name, false)
    }
  }
  return out
}

const push = (ring: string[], id: string) => ring.push(id) > RING && ring.shift()

export function createConnection(options: Resolved, implementations: Transports, grace: number, onClosed?: () => void): Connection {
  const { env, order, log, connectTimeout, heartbeatTimeout, upgradeAfter, rememberFor, statuses } = options
  const page = env.window
  let remembered = rememberFor ? recall(env.storage, options.endpoint, env.now()) : undefined
  const neg = negotiation(order, options.nodes.length, remembered)
  const backoff = createBackoff(options.policy, options.customRetry, env.random, report)
  const seen = createSeen()
  const worked = workedIn.get(page ?? nowhere) ?? new Set<string>()
  workedIn.set(page ?? nowhere, worked)
  /** Transports (per node) that answered "no such endpoint" since the last proven connection. */
  const missing = new Set<string>()
  let listeners: ConnectionListener[] = []
  const types = new Set<string>()
  /** Transports on which this server showed a heartbeat cadence: watched from the start of every connection. */
  const cadence = new Set<TransportName>()

  let state: State = 'connecting'
  let closed = false
  let scheduled = false
  let started = false
  let listening = false
  let lastEventId = options.lastEventId
  let retryField: number | undefined
  let waitingFor: StateChange['waitingFor']
  let authRetried = false
  let retryHinted = false
  let epoch = 0
  let timers: Record<'retry' | 'deadline' | 'heartbeat' | 'probe' | 'side' | 'watch' | 'grace', unknown> = {} as never

  // The attempt in use (valid while its epoch is current).
  let name: TransportName | undefined
  let handle: TransportHandle | undefined
  let details: OpenDetails | undefined
  let acceptedAt: number | undefined
  let openedAt: number | undefined
  let real = false
  let startedAt = 0
  /** Where this attempt resumed from, and whether its first events are still checked for replays. */
  let from = ''
  let checking = false
  /** New events and promised heartbeats on this attempt; `identified`: one of them had a new id (or was a promised heartbeat). */
  let fresh = 0
  let identified = false
  /** Events this attempt sent again and were dropped; whether a server that only replays was reported. */
  let replayed = 0
  let toldReplay = false
  /** The attempt that ended last made progress. */
  let healthy = false
  let unreadable = 0
  let heartbeats = 0
  let rechecks = 0
  let lastActivity = 0

  // A connection on the side: a probe of a better transport, or a check of the next one.
  let side: 'probe' | 'check' | undefined
  let sideIndex = 0
  let sideEpoch = 0
  let sideHandle: TransportHandle | undefined
  let sideIds: string[] = []
  let mainIds: string[] = []

  const trace = (type: LogRecord['type'], transport = name, extra?: Partial<LogRecord>) => {
    if (!log) return
    try {
      log({ type, transport, ...extra })
    } catch (error) {
      report(error)
    }
  }

  /** Arm a timer, unless the connection is closed. */
  const arm = (key: keyof typeof timers, fn: () => void, ms: number) => {
    env.clearTimeout(timers[key])
    timers[key] = closed ? undefined : env.setTimeout(fn, ms)
  }
  const clear = (...keys: Array<keyof typeof timers>) => {
    for (const key of keys) {
      env.clearTimeout(timers[key])
      timers[key] = undefined
    }
  }

  /** Tell every listener; stop as soon as the connection is closed. */
  function emit(fn: (listener: ConnectionListener) => void): void {
    for (const listener of listeners) {
      if (closed) return
      fn(listener)
    }
  }

  const emitError = (error: SubwireError) => emit((l) => l.error(error))

  function setState(next: State, extra?: Partial<StateChange>): void {
    state = next
    const change: StateChange = { state: next, transport: name ?? current(neg), attempt: backoff.attempt, ...extra }
    emit((l) => l.state(change))
  }

  function contextOf(transport: TransportName): TransportContext {
    const canSendHeaders = transport !== 'websocket' && !(transport === 'eventsource' && (options.eventsource === 'native' || (options.eventsource === 'auto' && !env.fetch)))
    const target = options.urls[transport] ?? options.nodes[neg.node]!
    return {
      name: transport,
      env,
      options,
      target,
      async url(withId, headers = canSendHeaders) {
        const params = await provide(options.query, false, transport, headers)
        return withParams(target, {
          transport,
          ...params,
          [options.lastEventIdParam]: (withId && lastEventId) || undefined,
        })
      },
      headers: () => provide(options.headers, true, transport, canSendHeaders),
      lastEventId: () => lastEventId,
      types: () => types,
    }
  }

  function connect(): void {
    timers.retry = undefined
    if (closed) return
    waitingFor = undefined
    if (!env.online()) return pause('online')
    if (options.pauseWhenHidden && env.hidden()) return pause('visible')
    const my = ++epoch
    from = lastEventId
    checking = true
    name = current(neg)
    handle = details = acceptedAt = openedAt = undefined
    real = identified = false
    unreadable = heartbeats = rechecks = fresh = replayed = 0
    lastActivity = startedAt = env.now()
    trace('connect')
    setState('connecting')
    if (my !== epoch || closed) return
    const live = () => my === epoch && !closed
    const sink: TransportSink = {
      open(info) {
        if (!live()) return
        // Open again: the transport reconnected by itself (the native EventSource, sending
        // Last-Event-ID): what the server sends first is checked for replays again.
        if (acceptedAt !== undefined) return void ((from = lastEventId), (checking = true))
        acceptedAt = env.now()
        details = info
        if (info?.proven) confirm(true)
      },
      heartbeat() {
        if (!live()) return
        lastActivity = env.now()
        confirm(true)
        // A second heartbeat shows a cadence (a first may be a greeting): watch for silence from now
        // on, and on every later connection of this transport from its start.
        if (live() && ++heartbeats > 1) cadence.add(name!)
        if (live() && cadence.has(name!)) {
          // A heartbeat the server promised (a cadence it showed), a second or more in: progress.
          if (lastActivity - startedAt >= PACED) (fresh++, (identified = true))
          watchSilence()
        }
      },
      activity() {
        if (live()) lastActivity = env.now()
      },
      event(message) {
        if (!live()) return
        lastActivity = env.now()
        confirm(true)
        if (!live()) return
        const transport = name!
        const { id } = message
        if (checking) {
          // What a server sends first after a reconnect may be what was delivered already: the
          // event it was asked to resume after (">=" for ">"), or all it holds (it could not read
          // the resume point). Dropped, and the resume point stays. The same id with other data:
          // the server's ids started again, so events may be missing.
          const known = id === undefined ? undefined : (from !== '' && id === from) || seen.has(id, message.data)
          if (known) return void (id !== from && replayed++)
          checking = false
          if (known === false) emit((l) => l.reset({ transport, lastEventId: from }))
          if (!live()) return
        }
        // protocol: a server that cannot resume from the id it was given says so with a `reset` event.
        if (message.type === 'reset') return emit((l) => l.reset({ transport, lastEventId: from }))
        // The hot path: transport → here → each subscription. No copies, no re-dispatch.
        fresh++
        if (id !== undefined) {
          identified = true
          seen.add(id, message.data)
        }
        lastEventId = message.lastEventId
        if (side === 'probe' && id) noteMain(id)
        emit((l) => l.message(message, transport))
      },
      id(value) {
        if (!live()) return
        confirm(true)
        if (!live()) return
        if (value !== lastEventId) (fresh++, (identified = true))
        lastEventId = value
        if (side === 'probe' && value) noteMain(value)
      },
      retry(ms) {
        if (live()) retryField = ms
      },
      warn(error) {
        if (!live()) return
        unreadable++
        emitError(error)
        // A transport that sends only what subwire cannot read has failed, not proven itself: at
        // once for a poll (a whole answer), after a few frames for a stream.
        if (live() && !real && unreadable >= (handle?.polls ? 1 : MAX_UNREADABLE)) ended(unreadableError())
      },
      close(error) {
        if (live()) ended(error)
      },
    }
    const created = implementations[name]!(contextOf(name), sink)
    if (!live()) return created.close()
    handle = created
    arm('deadline', deadline, created.proofTimeout ?? connectTimeout)
    if (cadence.has(name)) watchSilence()
  }

  /** One heartbeat timer per connection; checked when it fires. Polls have none: each request has its deadline. */
  function watchSilence(): void {
    if (heartbeatTimeout && !timers.heartbeat && !handle?.polls) arm('heartbeat', beat, heartbeatTimeout)
  }

  const starved = (other?: TransportName) =>
    `accepted but silent for connectTimeout (${connectTimeout} ms)${other ? ` while ${other} delivered` : ''}: a proxy starves it (or pass silent: 'trust' for a server quiet by design)`
  const unreadableError = () => new ProtocolError(`sent nothing readable (is this the right endpoint? see the frames and parse options)`, name!, false)

  /** The attempt proved itself (`proof`: an event, a heartbeat, an id) or is trusted after its check. */
  function confirm(proof: boolean): void {
    const my = epoch
    if (proof && !real) {
      real = true
      proven(neg)
      missing.clear()
      worked.add(options.endpoint)
      authRetried = false
      if (rememberFor && remembered !== name) {
        remember(env.storage, options.endpoint, (remembered = name!), env.now() + rememberFor)
        trace('remember')
      }
    }
    // Proven: no more second opinions (a trusted connection on probation is cleared too).
    if (proof) clear('deadline')
    if (openedAt !== undefined) return
    openedAt = env.now()
    clear('deadline')
    if (side === 'check') closeSide()
    scheduleProbe()
    trace(proof ? 'proven' : 'open')
    setState('open')
    const transport = name!
    if (my === epoch) emit((l) => l.open({ transport, status: details?.status, headers: details?.headers }))
  }

  /** The attempt had its time to prove itself and did not (or, trusted, is silent still). */
  function deadline(): void {
    if (closed || real) return
    // Trusted after a second opinion that had nothing to say, and silent since: ask again.
    if (openedAt !== undefined) return startSide('check', neg.index + 1)
    if (unreadable) return ended(unreadableError())
    if (acceptedAt === undefined) {
      trace('timeout')
      // Over HTTP/1.1 a browser opens at most six connections per origin, shared by every tab: a
      // stream asked for while others hold them waits in the browser, not at the server.
      const wall = name !== 'websocket' && env.httpVersion(options.urls[name!] ?? options.nodes[neg.node]!) === 'http/1.1'
      return ended(
        new TimeoutError(
          `no answer within connectTimeout (${handle?.proofTimeout ?? connectTimeout} ms): ${
            wall
              ? "this origin speaks HTTP/1.1, where a browser opens at most six connections per origin for all its tabs, and this request may be waiting for one: share connections (share: 'tabs'), serve over HTTP/2, or open fewer streams"
              : 'a proxy may hold it, or the server is down'
          }`,
          name!,
        ),
      )
    }
    // Accepted, then silent: a quiet server, or a proxy (or a stalled server) that starves this
    // transport? As the `silent` option says; by default the next transport gives a second opinion.
    if (options.silent === 'fallback') return ended(new TimeoutError(starved(), name!, false))
    if (options.silent === 'check' && neg.index + 1 < order.length) startSide('check', neg.index + 1)
    else confirm(false)
  }

  function beat(): void {
    timers.heartbeat = undefined
    const idle = env.now() - lastActivity
    if (idle < heartbeatTimeout) return arm('heartbeat', beat, heartbeatTimeout - idle)
    trace('timeout')
    ended(new TimeoutError(`silent for heartbeatTimeout (${heartbeatTimeout} ms) although its server sends heartbeats: dropped or cut by a proxy`, name!))
  }

  function scheduleProbe(): void {
    if (!upgradeAfter || timers.probe || side === 'probe' || probeTarget(neg) === undefined) return
    arm(
      'probe',
      () => {
        timers.probe = undefined
        const target = probeTarget(neg)
        // A check on the side now: the probe comes after it.
        if (side) scheduleProbe()
        else if (target !== undefined && openedAt !== undefined) startSide('probe', target)
      },
      upgradeAfter * 2 ** Math.min(neg.failures, 5),
    )
  }

  /**
   * Open another transport on the side. A check (of the next transport, while the one in use is
   * accepted but silent) succeeds by proving itself: the one in use is starved, so fall back. A
   * probe (of a better transport) succeeds when it delivers an event the one in use delivered too,
   * by id: it carries the same stream and can resume, so move up to it.
   */
  function startSide(purpose: 'probe' | 'check', index: number): void {
    // One side connection at a time: a probation check replaces a probe in flight.
    closeSide()
    const transport = order[index]!
    const my = ++sideEpoch
    side = purpose
    sideIndex = index
    sideIds = []
    mainIds = []
    let withoutId = 0
    trace(purpose, transport)
    const end = (ok: boolean) => my === sideEpoch && settle(purpose, index, ok)
    const seen = (id?: string) => {
      if (purpose === 'check') return end(true)
      if (!id) return ++withoutId >= 3 && end(false)
      push(sideIds, id)
      if (mainIds.includes(id)) end(true)
    }
    const nothing = () => {}
    const created = implementations[transport]!(contextOf(transport), {
      open: nothing,
      activity: nothing,
      retry: nothing,
      heartbeat: () => purpose === 'check' && end(true),
      event: (message) => seen(message.id),
      id: seen,
      warn: () => end(false),
      close: () => end(false),
    })
    if (my !== sideEpoch || closed) return created.close()
    sideHandle = created
    arm('side', () => end(false), purpose === 'check' ? connectTimeout : 3 * connectTimeout)
  }

  function settle(purpose: 'probe' | 'check', index: number, ok: boolean): void {
    closeSide()
    if (purpose === 'check') {
      if (ok) return ended(new TimeoutError(starved(order[index]), name!, false))
      // Nothing to say either: a quiet server, most likely. Trusted, on probation: while it stays
      // silent it is asked about again, after connectTimeout, then twice as long each time.
      const my = epoch
      confirm(false)
      if (my === epoch && !closed && !real) arm('deadline', deadline, connectTimeout * 2 ** Math.min(rechecks++, 5))
      // A probe that this check replaced (or that came due meanwhile) is due again.
      if (my === epoch) scheduleProbe()
      return
    }
    if (!ok) {
      probeFailed(neg)
      return scheduleProbe()
    }
    upgraded(neg, index)
    trace('upgrade', order[index])
    stopAttempt()
    connect()
  }

  /** The connection in use delivered `id` while a probe runs; settle outside this delivery when the probe had it too. */
  function noteMain(id: string): void {
    push(mainIds, id)
    const my = sideEpoch
    if (sideIds.includes(id)) arm('side', () => my === sideEpoch && settle('probe', sideIndex, true), 0)
  }

  function closeSide(): void {
    sideEpoch++
    side = undefined
    clear('side')
    sideHandle?.close()
    sideHandle = undefined
  }

  /**
   * End the attempt in use: clear its timers, close its side connection and its transport. A
   * connection that made progress was healthy, however short: it delivered two or more new events,
   * or one with a new id (or a heartbeat it promised) while the server paces reconnects a second or
   * more apart (its `retry`, else `initialDelay`), or it stayed up `resetAfter`. Then the next wait
   * follows the server and the count starts again; anything less climbs the curve.
   */
  function stopAttempt(): void {
    const was = handle
    epoch++
    const lifetime = env.now() - startedAt
    healthy = real
      ? fresh > 1 || (identified && lifetime + (retryField ?? options.policy.initialDelay) >= PACED) || lifetime >= options.policy.resetAfter
      : openedAt !== undefined && env.now() - openedAt >= options.policy.resetAfter
    if (healthy) backoff.progress()
    real = false
    fresh = 0
    openedAt = handle = undefined
    clear('retry', 'deadline', 'heartbeat', 'probe')
    closeSide()
    was?.close()
  }

  /** The attempt in use ended (its transport closed, or subwire gave up on it): what next? */
  function ended(error: SubwireError | undefined): void {
    const from = name!
    const wasOpen = openedAt !== undefined
    const accepted = acceptedAt !== undefined
    // It sent again only what was delivered: it cannot read the resume point as it is sent.
    const stale = replayed && !fresh
    stopAttempt()
    // Nobody listens any more (the sharing grace after the last subscription left): done.
    if (!listeners.length) return finish()
    // Offline, every transport fails: that says nothing about them. Wait for the network.
    if (!env.online()) {
      if (error) emitError(error)
      return closed ? undefined : pause('online')
    }
    let decision = classify(error, wasOpen, statuses)
    // A 401 or 403 may be an expired token: ask the providers again once, at once, before giving up.
    const status = (error as HttpError | undefined)?.status
    const auth = (status === 401 || status === 403) && !authRetried && !statuses[status]
    if (auth) {
      authRetried = true
      decision = 'retry'
    }
    if (decision === 'fatal') return finish(error)
    // "No stream here", definitely: a non-retryable HTTP answer, or a WebSocket that never opened.
    // (A WebSocket cannot tell a missing endpoint from a server that is down: it counts only
    // beside an HTTP answer.)
    if (error instanceof HttpError ? !error.retryable && !statuses[status!] : from === 'websocket' && !accepted && error?.kind === 'connection') {
      missing.add(`${neg.node} ${from}`)
      if (error instanceof HttpError) missing.add('http')
    }
    if (decision === 'fallback') {
      if (fallback(neg, error?.kind === 'buffered' ? 'longpoll' : undefined)) {
        trace('fallback', from, { error })
        if (error) emitError(error)
        return closed ? undefined : connect()
      }
      // A whole round failed. Fatal only for an endpoint that never worked in this page and that
      // every transport (on every node) said does not exist: a restart is never fatal.
      if (missing.size > order.length * options.nodes.length && !worked.has(options.endpoint)) return finish(error)
      missing.clear()
    }
    const hint = (error as HttpError | ConnectionError | undefined)?.retryAfter ?? retryField
    let delay = auth ? 0 : backoff.failed(env.now(), error, hint, !accepted)
    if (closed) return
    // However a server that made progress paces itself, at most two connects a second.
    if (delay !== false && healthy) delay = Math.max(delay, MIN_CYCLE - (env.now() - startedAt))
    if (delay === false) return finish(error ?? new ConnectionError('gave up reconnecting (retry said so)', from))
    arm('retry', connect, delay)
    retryHinted = hint !== undefined && !auth
    trace('retry', from, { delay, error })
    if (error) emitError(error)
    if (stale && !toldReplay && !closed) {
      toldReplay = true
      emitError(
        new ProtocolError(
          `the server did not resume from the last event id: it sent only events delivered already (dropped). It must read ?${options.lastEventIdParam}= or Last-Event-ID (across origins, allow that header in its CORS preflight, or use the native EventSource)`,
          from,
        ),
      )
    }
    if (!closed) setState('reconnecting', { delay, error })
  }

  /** Stop and wait for the page to be online, visible or shown again. */
  function pause(reason: NonNullable<StateChange['waitingFor']>): void {
    stopAttempt()
    waitingFor = reason
    trace('pause', name, { waitingFor: reason })
    setState('reconnecting', { waitingFor: reason })
  }

  function onPage({ type }: Event): void {
    if (closed) return
    if (type === 'offline') {
      // An open stream may well survive a short loss; one being set up or waited for stops, and
      // so does a poll (each request is a new connection).
      if (state !== 'open' || handle?.polls) pause('online')
    } else if (type === 'pagehide' || type === 'freeze') {
      // Release the connection so the page can enter the back/forward cache or be frozen.
      pause('pageshow')
    } else if (type === 'visibilitychange' && env.hidden()) {
      if (options.pauseWhenHidden) pause('visible')
    } else if (
      waitingFor === (type === 'visibilitychange' ? 'visible' : type === 'resume' ? 'pageshow' : type) ||
      (timers.retry && !retryHinted && type !== 'pageshow' && type !== 'resume')
    ) {
      // Online again, visible again, back from the cache: whatever was waiting goes now (but a
      // wait the server asked for is kept).
      trace('resume')
      stopAttempt()
      connect()
    }
  }

  function watch(last: number): void {
    arm(
      'watch',
      () => {
        const now = env.now()
        watch(now)
        if (now - last > WATCH + JUMP && lastActivity <= last && !waitingFor && state !== 'reconnecting') {
          trace('resume')
          stopAttempt()
          connect()
        }
      },
      WATCH,
    )
  }

  function finish(error?: SubwireError): void {
    if (closed) return
    // Nothing is left behind: timers, transports, page listeners.
    stopAttempt()
    closed = true
    state = 'closed'
    clear('watch', 'grace')
    if (listening) for (const type of PAGE_EVENTS) page?.removeEventListener(type, onPage)
    const all = listeners
    listeners = []
    onClosed?.()
    trace('close', name, { error })
    const change: StateChange = { state, transport: name ?? current(neg), attempt: backoff.attempt, error }
    for (const listener of all) {
      if (error) listener.error(error)
      listener.state(change)
    }
  }

  function start(): void {
    if (closed) return
    started = true
    if (!order.length) {
      return finish(new SubwireError('unsupported', 'no transport can run here (no WebSocket, fetch or EventSource as needed): pass other transports, or provide them through env', undefined, false))
    }
    listening = true
    for (const type of PAGE_EVENTS) page?.addEventListener(type, onPage)
    watch(env.now())
    connect()
  }

  return {
    attach(listener) {
      if (closed) return false
      listeners = [...listeners, listener]
      clear('grace')
      // Start after the caller had a chance to attach listeners.
      if (!scheduled) queueMicrotask(start)
      scheduled = true
      return true
    },
    detach(listener) {
      const rest = listeners.filter((l) => l !== listener)
      if (rest.length === listeners.length || closed) return
      listeners = rest
      if (!rest.length) grace ? arm('grace', finish, grace) : finish()
    },
    reconnect() {
      if (closed || !started) return
      trace('resume')
      stopAttempt()
      connect()
    },
    listen(type) {
      if (types.has(type)) return
      types.add(type)
      handle?.listen?.(type)
    },
    get state() {
      return state
    },
    get transport() {
      return scheduled ? name ?? current(neg) : undefined
    },
    get lastEventId() {
      return lastEventId
    },
    get attempt() {
      return backoff.attempt
    },
    get waitingFor() {
      return waitingFor
    },
  }
}
