// The driver of one connection: it owns what the state machine (machine.ts) only describes — the
// transports, one timer, the page listeners, the listeners of the subscriptions — feeds it every
// input, stores the next state, then runs the effects: first those that touch the network and
// the page, then those that run user code (listeners, `log`). An input that arrives while a step or
// its effects run (a listener that calls close(), a transport that answers at once) waits in a
// queue until they are done, so user code always meets a finished transition.
//
// Three parts: `createConnection`, the face subscriptions see (attach, detach, reconnect, the
// current state); `drive`, the loop of inputs, steps and effects with its one timer; and
// `openTransport`, a transport's context and sink for one attempt.
import { report } from './report'
import { SubwireError, toError } from './errors'
import { initial, step, type Ctx, type Effect, type Input, type Report, type Sides, type State } from './machine'
import type { Resolved } from './options'
import type { EventSourceMessage } from './parser'
import { createLimit, CROWDED, type Limit } from './limit'
import { createSeen, type Seen } from './seen'
import { say } from './text'
import type { Transport, TransportContext, TransportHandle, TransportSink } from './transports/types'
import type { OpenInfo, ResetInfo, State as Phase, StateChange, TransportName } from './types'
import { withParams } from './url'

export { report }

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
  readonly state: Phase
  readonly transport: TransportName | undefined
  readonly lastEventId: string
  readonly attempt: number
  readonly waitingFor: StateChange['waitingFor']
}

/** Transport implementations by name, as exported by `subwire/core`. */
export type Transports = Partial<Record<TransportName, Transport>>

/**
 * Side connections and the remembered transport (sides.ts and remember.ts): what the `subwire`
 * entry adds to the core, and what `subwire/core` users add with `createSubscribe(transports, negotiation)`.
 */
export interface Negotiation {
  readonly sides: Sides
  recall(storage: Resolved['env']['storage'], endpoint: string, now: number): TransportName | undefined
  remember(storage: Resolved['env']['storage'], endpoint: string, name: TransportName, until: number): void
}

/** Page events that pause or resume a connection. */
const PAGE_EVENTS = ['online', 'offline', 'visibilitychange', 'pagehide', 'pageshow', 'freeze', 'resume']

/** Endpoints that worked, per page (`env.window`): a missing endpoint there is a restart, never fatal. */
const workedIn = new WeakMap<object, Set<string>>()
const nowhere = {}

/**
 * An option that may be a provider (`headers`, `query`, `body`): its value now (`text`: as a record
 * of strings, an `undefined` value left out), or a `provider` error when it fails — or when what it
 * gives cannot be read as text (a getter or a toString that throws).
 */
async function ask(provider: unknown, which: string, name: TransportName, canSendHeaders: boolean, text?: boolean): Promise<unknown> {
  try {
    const value = typeof provider === 'function' ? await provider({ transport: name, canSendHeaders }) : provider
    if (!text) return value
    const out: Record<string, string> = {}
    for (const key in value as object) {
      const raw = (value as Record<string, unknown>)[key]
      if (raw !== undefined) out[key] = String(raw)
    }
    return out
  } catch (cause) {
    throw new SubwireError('provider', say('provider', which, cause), name, true, cause)
  }
}

/**
 * `headers` or `query` as a record of strings. The development build checks header names and
 * values, which fetch would otherwise refuse on every attempt.
 */
function provide(provider: unknown, headers: boolean, name: TransportName, canSendHeaders: boolean): Promise<Record<string, string>> {
  const out = ask(provider, headers ? 'headers' : 'query', name, canSendHeaders, true) as Promise<Record<string, string>>
  if (!__DEV__ || !headers) return out
  return out.then((out) => {
    for (const key in out) {
      if (!(/^[!#$%&'*+.^_`|~\w-]+$/.test(key) && /^[^\0\r\n\u0100-\uffff]*$/.test(out[key]!))) throw new SubwireError('config', say('bad-header', key), name, false)
    }
    return out
  })
}

/**
 * The order effects run in: first what only lets go (stop a transport, page listeners), then what
 * runs user code (listeners, `log`), then what opens a transport — after the inputs that user code
 * queued meanwhile (a close(), a reconnect()), and only for an attempt still current — and last
 * what can wait a few ms in a fresh page (the page listeners a start adds, the remembered
 * transport's storage write): the request goes out, and the first event reaches the listeners, first.
 */
const pass = (effect: Effect) =>
  effect[0] === 'connect' ? 2 : (effect[0] === 'page' && effect[1]) || effect[0] === 'remember' ? 3 : effect[0] === 'tell' || effect[0] === 'log' || effect[0] === 'closed' ? 1 : 0

/** What a transport reports through its sink: the sink method, and the report it becomes. */
const SINK = ['open', 'heartbeat', 'activity', 'event', 'id', 'retry', 'warn', 'close'] as const

/** What the driver keeps of one connection, for the face that `createConnection` returns. */
interface Driver {
  /** Step the machine with one input (queued while a step or its effects run). */
  feed(input: Input): void
  /** The state stored after the last step. */
  s: State
  /** The subscriptions' listeners (replaced, never changed in place). */
  listeners: ConnectionListener[]
  readonly handles: Map<number, TransportHandle>
  readonly types: Set<string>
}

/**
 * A connection: the driver (`drive`) runs the machine; this is the face subscriptions see. It
 * starts in a microtask after the first listener attached, and closes (after `grace`) when the
 * last one left.
 */
export function createConnection(options: Resolved, implementations: Transports, grace: number, onClosed?: () => void, negotiation?: Negotiation, failing?: { attempt: number; since: number }): Connection {
  const d = drive(options, implementations, grace, onClosed, negotiation, failing)
  const { order } = options
  let scheduled = false
  return {
    attach(listener) {
      if (d.s.phase === 'closed') return false
      d.listeners = [...d.listeners, listener]
      if (d.s.idle) d.feed(['attach'])
      // Start after the caller had a chance to attach listeners.
      if (!scheduled) queueMicrotask(() => d.feed(['start']))
      scheduled = true
      return true
    },
    detach(listener) {
      const rest = d.listeners.filter((l) => l !== listener)
      if (rest.length === d.listeners.length || d.s.phase === 'closed') return
      d.listeners = rest
      if (!rest.length) d.feed(['detach'])
    },
    reconnect() {
      // (Before the start there is no connection to replace: the machine ignores it.)
      if (scheduled) d.feed(['reconnect'])
    },
    listen(type) {
      if (d.types.has(type)) return
      d.types.add(type)
      if (d.s.main) d.handles.get(d.s.main.epoch)?.listen?.(type)
    },
    get state() {
      return d.s.phase === 'idle' ? 'connecting' : d.s.phase
    },
    get transport() {
      return scheduled ? order[d.s.main?.index ?? d.s.tried] : undefined
    },
    get lastEventId() {
      return d.s.lastEventId
    },
    get attempt() {
      return d.s.backoff.attempt
    },
    get waitingFor() {
      return d.s.waitingFor
    },
  }
}

/**
 * The driver: it feeds the machine, stores each next state, keeps one timer for the earliest
 * deadline, and runs the effects (the transports, the page listeners, the subscriptions' listeners).
 */
function drive(options: Resolved, implementations: Transports, grace: number, onClosed?: () => void, negotiation?: Negotiation, failing?: { attempt: number; since: number }): Driver {
  const { env, order, endpoint, rememberFor } = options
  const page = env.window ?? nowhere
  const worked = workedIn.get(page) ?? new Set<string>()
  workedIn.set(page, worked)
  const seen = createSeen()
  // Development: connections per origin across tabs, for the six-connection diagnosis.
  const limit = __DEV__ && env.locks ? createLimit(env.locks) : undefined
  let busy = false
  const queue: Input[] = []
  let timer: unknown
  let armedAt: number | undefined
  // The page listeners are on.
  let paged = false
  // The state lives in `d.s` alone: stored there before any effect runs. `failing`: the backoff of
  // a connection this one takes over (another tab held it). With one transport there is nothing to
  // remember: no storage read before the first request.
  const s = initial(options, rememberFor && order.length > 1 ? negotiation?.recall(env.storage, endpoint, env.now()) : undefined, failing)
  const d: Driver = { feed, s, listeners: [], handles: new Map(), types: new Set() }
  const ctx = contextOf(options, grace, seen, () => worked.has(endpoint), negotiation, __DEV__ ? (name) => crowded(options, name, d.s, limit) : undefined)

  /** One input: step, store, then run the effects. Inputs arriving meanwhile wait their turn. */
  function feed(input: Input): void {
    queue.push(input)
    if (busy) return
    busy = true
    try {
      drain()
    } finally {
      busy = false
    }
  }

  function drain(): void {
    for (let input = queue.shift(); input; input = queue.shift()) {
      // The machine's time never goes back. After the wall clock was set back it stands until the
      // clock catches up, moved on only by the deadlines that fall due (their timers keep real
      // time): what is due is not held back by the size of the jump. A jump forward (a sleep) shows.
      ctx.now = Math.max(env.now(), ctx.now)
      const before = d.s.deadlines
      const { state: after, effects } = step(d.s, input, ctx)
      d.s = after
      if (after.deadlines !== before || armedAt === undefined) rearm()
      for (let n = 0; n < 4; n++) {
        if (n === 2) drain()
        for (const effect of effects) if (pass(effect) === n) run(effect)
      }
    }
  }

  /** One timer, for the earliest deadline of the state. */
  function rearm(): void {
    const at = earliest(d.s.deadlines)
    // (A deadline already past is armed again at 0: after the wall clock jumped, the timer of an
    // older deadline may still be far off.)
    if (at === armedAt && (at === undefined || at > ctx.now)) return
    env.clearTimeout(timer)
    armedAt = at
    timer = at === undefined ? undefined : env.setTimeout(() => ((ctx.now = Math.max(ctx.now, at)), (armedAt = timer = undefined), feed(['tick'])), Math.max(0, at - ctx.now))
  }

  const onPage = ({ type }: Event) => feed(['page', type])

  function run(effect: Effect): void {
    switch (effect[0]) {
      case 'connect': {
        const { epoch, index, node } = effect[1]
        // Only for an attempt still current: the user may have closed or reconnected meanwhile.
        if (epoch !== d.s.main?.epoch && epoch !== d.s.side?.epoch) return
        const handle = openTransport(options, implementations, d.types, () => d.s.lastEventId, feed, epoch, order[index]!, node, limit)
        d.handles.set(epoch, handle)
        return feed(['handle', epoch, handle])
      }
      case 'stop':
        d.handles.get(effect[1])?.close()
        return void d.handles.delete(effect[1])
      case 'tell': {
        // The hot path: transport → machine → each subscription. No copies, no re-dispatch.
        const [, method, value, transport] = effect
        if (method === 'message' && (value.id || __DEV__)) seen.add(value.id ?? '', value.data)
        // Every listener, until the connection is closed.
        for (const l of d.listeners) {
          if (d.s.phase === 'closed') return
          ;(l[method] as (v: unknown, t?: TransportName) => void)(value, transport)
        }
        return
      }
      case 'log':
        try {
          return options.log?.(effect[1])
        } catch (error) {
          return report(error)
        }
      case 'remember':
        return negotiation?.remember(env.storage, endpoint, effect[1], env.now() + rememberFor)
      case 'worked':
        return void worked.add(endpoint)
      case 'page':
        // Added after the inputs queued meanwhile (not when one of them closed the connection);
        // removed only when added.
        if (effect[1] === paged || (effect[1] && d.s.phase === 'closed')) return
        paged = effect[1]
        for (const type of PAGE_EVENTS) env.window?.[effect[1] ? 'addEventListener' : 'removeEventListener'](type, onPage)
        return
      case 'closed': {
        env.clearTimeout(timer)
        armedAt = timer = undefined
        onClosed?.()
        const all = d.listeners
        d.listeners = []
        for (const listener of all) {
          if (effect[2]) listener.error(effect[2])
          listener.state(effect[1])
        }
      }
    }
  }

  return d
}

/** What a step may read besides the state and the input (machine.ts `Ctx`); `now` is set before each. */
function contextOf(options: Resolved, grace: number, seen: Seen, worked: () => boolean, negotiation: Negotiation | undefined, diagnose: Ctx['diagnose']): Ctx & { now: number } {
  const { env } = options
  return { now: 0, random: env.random, options, grace, online: env.online, hidden: env.hidden, seen: seen.has, again: seen.again, worked, report, sides: negotiation?.sides, diagnose }
}

/** The earliest of the deadlines, if any. */
function earliest(deadlines: State['deadlines']): number | undefined {
  let at: number | undefined
  for (const key in deadlines) {
    const t = deadlines[key as keyof State['deadlines']]
    if (t !== undefined && (at === undefined || t < at)) at = t
  }
  return at
}

/**
 * Development: why an attempt on `name` got no answer, when the HTTP/1.1 limit can be the cause.
 * Over HTTP/1.1 a browser opens at most six connections per origin, shared by every tab: a stream
 * asked for while the others hold them waits in the browser, not at the server.
 */
function crowded(options: Resolved, name: TransportName, state: State, limit: Limit | undefined): string | undefined {
  return name !== 'websocket' &&
    options.env.httpVersion?.(options.urls[name] ?? options.nodes[state.neg.node]!) === 'http/1.1' &&
    state.main !== undefined &&
    (limit?.others(state.main.epoch) ?? 0) >= CROWDED
    ? "this origin speaks HTTP/1.1, where a browser opens at most six connections per origin for all its tabs, and this request may be waiting for one: share connections (share: 'tabs'), serve over HTTP/2, or open fewer streams"
    : undefined
}

/**
 * Open transport `name` on `node` for the attempt `epoch`: its context (the URL with the resume
 * point, the providers' headers, query and body), its sink's reports fed to the driver as inputs.
 */
function openTransport(
  options: Resolved,
  implementations: Transports,
  types: Set<string>,
  lastEventId: () => string,
  feed: (input: Input) => void,
  epoch: number,
  name: TransportName,
  node: number,
  limit: Limit | undefined,
): TransportHandle {
  const { env } = options
  const canSendHeaders = name !== 'websocket' && !(name === 'eventsource' && (options.eventsource === 'native' || (options.eventsource === 'auto' && !env.fetch)))
  const target = options.urls[name] ?? options.nodes[node]!
  const context: TransportContext = {
    name,
    env,
    options,
    target,
    async url(withId, headers = canSendHeaders) {
      const params = await provide(options.query, false, name, headers)
      // The URL as given for a stream or a WebSocket (a plain server may route on the exact URL, as
      // for the native EventSource); a poll says which it is (`longpoll` is held).
      return withParams(target, { transport: /poll/.test(name) ? name : undefined, ...params, [options.lastEventIdParam]: (withId && lastEventId()) || undefined })
    },
    headers: () => provide(options.headers, true, name, canSendHeaders),
    body: () => ask(options.body, 'body', name, canSendHeaders) as Promise<BodyInit | undefined>,
    lastEventId,
    types: () => types,
  }
  const sink = {} as Record<string, (value?: unknown) => void>
  for (const method of SINK) sink[method] = (value) => feed([method === 'close' ? 'end' : method, epoch, value] as unknown as Report)
  const end = __DEV__ && limit && name !== 'websocket' ? counted(epoch, new URL(target).origin, sink, limit) : undefined
  let made: TransportHandle
  try {
    made = implementations[name]!(context, sink as unknown as TransportSink)
  } catch (error) {
    // A transport of your own that throws as it opens: that attempt failed (a network error with
    // the exception as its cause), at once, and nothing is thrown out of the page's event loop.
    sink.close!(toError(error, name))
    made = { close() {} }
  }
  return end ? { ...made, close: () => (end(), made.close()) } : made
}

/**
 * Development: while attempt `epoch` waits, count the others' connections to `origin`; once open,
 * hold one. Wraps `sink` before the transport sees it; returns the end (idempotent).
 */
function counted(epoch: number, origin: string, sink: Record<string, (value?: unknown) => void>, limit: Limit): () => void {
  const stop = limit.waiting(epoch, origin)
  let release = () => {}
  const end = () => (stop(), release())
  const { open, close } = sink
  sink.open = (info) => (stop(), release(), (release = limit.hold(origin)), open!(info))
  sink.close = (info) => (end(), close!(info))
  return end
}
