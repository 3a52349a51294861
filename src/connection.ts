// The driver of one connection: it owns what the state machine (machine.ts) only describes — the
// transports, one timer, the page listeners, the listeners of the subscriptions — feeds it every
// input, stores the next state, then runs the effects: first those that touch the network and
// the page, then those that run user code (listeners, `log`). An input that arrives while a step or
// its effects run (a listener that calls close(), a transport that answers at once) waits in a
// queue until they are done, so user code always meets a finished transition.
import { report } from './report'
import { SubwireError } from './errors'
import { initial, step, type Ctx, type Effect, type Input, type Sides, type State } from './machine'
import type { Resolved } from './options'
import type { EventSourceMessage } from './parser'
import { createSeen } from './seen'
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

const TOKEN = /^[!#$%&'*+.^_`|~\w-]+$/
const VALUE = /^[^\0\r\n\u0100-\uffff]*$/

/** A provider's result as a record of strings; a `config` error names what is wrong with it. */
async function provide(provider: unknown, headers: boolean, name: TransportName, canSendHeaders: boolean): Promise<Record<string, string>> {
  let value: unknown
  try {
    value = typeof provider === 'function' ? await provider({ transport: name, canSendHeaders }) : provider
  } catch (cause) {
    throw new SubwireError('provider', say('provider', headers ? 'headers' : 'query', cause), name, true, cause)
  }
  const out: Record<string, string> = {}
  for (const key in value as object) {
    const raw = (value as Record<string, unknown>)[key]
    if (raw === undefined) continue
    const text = (out[key] = String(raw))
    if (headers && !(TOKEN.test(key) && VALUE.test(text))) throw new SubwireError('config', say('bad-header', key), name, false)
  }
  return out
}

/**
 * The order effects run in: first what only lets go (stop a transport, page listeners, storage),
 * then what runs user code (listeners, `log`), then what opens a transport — after the inputs that
 * user code queued meanwhile (a close(), a reconnect()), and only for an attempt still current.
 */
const PASS: Record<Effect['t'], number> = { stop: 0, page: 0, remember: 0, worked: 0, message: 1, state: 1, open: 1, error: 1, reset: 1, log: 1, closed: 1, connect: 2 }

export function createConnection(options: Resolved, implementations: Transports, grace: number, onClosed?: () => void, negotiation?: Negotiation): Connection {
  const { env, order, endpoint, rememberFor } = options
  const page = env.window ?? nowhere
  const worked = workedIn.get(page) ?? new Set<string>()
  workedIn.set(page, worked)
  const seen = createSeen()
  const types = new Set<string>()
  const handles = new Map<number, TransportHandle>()
  let listeners: ConnectionListener[] = []
  let state: State = initial(options, rememberFor ? negotiation?.recall(env.storage, endpoint, env.now()) : undefined)
  let scheduled = false
  let busy = false
  const queue: Input[] = []
  let timer: unknown
  let armedAt: number | undefined

  const ctx: Ctx & { now: number } = {
    now: 0,
    random: env.random,
    options,
    grace,
    online: env.online,
    hidden: env.hidden,
    seen: seen.has,
    worked: () => worked.has(endpoint),
    report,
    sides: negotiation?.sides,
    diagnose: __DEV__
      ? (name) =>
          // Over HTTP/1.1 a browser opens at most six connections per origin, shared by every tab: a
          // stream asked for while others hold them waits in the browser, not at the server.
          name !== 'websocket' && env.httpVersion(options.urls[name] ?? options.nodes[state.neg.node]!) === 'http/1.1'
            ? "this origin speaks HTTP/1.1, where a browser opens at most six connections per origin for all its tabs, and this request may be waiting for one: share connections (share: 'tabs'), serve over HTTP/2, or open fewer streams"
            : undefined
      : undefined,
  }

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
      ctx.now = env.now()
      const before = state.deadlines
      const { state: after, effects } = step(state, input, ctx)
      state = after
      if (after.deadlines !== before || armedAt === undefined) rearm()
      for (let pass = 0; pass < 3; pass++) {
        if (pass === 2) drain()
        for (const effect of effects) if (PASS[effect.t] === pass) run(effect)
      }
    }
  }

  /** One timer, for the earliest deadline of the state. */
  function rearm(): void {
    let at: number | undefined
    for (const key in state.deadlines) {
      const t = state.deadlines[key as keyof State['deadlines']]
      if (t !== undefined && (at === undefined || t < at)) at = t
    }
    // (A deadline already past is armed again at 0: after the wall clock jumped, the timer of an
    // older deadline may still be far off.)
    if (at === armedAt && (at === undefined || at > ctx.now)) return
    env.clearTimeout(timer)
    armedAt = at
    timer = at === undefined ? undefined : env.setTimeout(() => ((armedAt = timer = undefined), feed({ t: 'tick' })), Math.max(0, at - ctx.now))
  }

  /** Tell every listener; stop as soon as the connection is closed. */
  function emit(fn: (listener: ConnectionListener) => void): void {
    for (const listener of listeners) {
      if (state.phase === 'closed') return
      fn(listener)
    }
  }

  const onPage = ({ type }: Event) => feed({ t: 'page', event: type })

  function run(effect: Effect): void {
    switch (effect.t) {
      case 'connect': {
        const { epoch, index, node } = effect.attempt
        // Only for an attempt still current: the user may have closed or reconnected meanwhile.
        if (epoch === state.main?.epoch || epoch === state.side?.epoch) open(epoch, order[index]!, node)
        return
      }
      case 'stop':
        handles.get(effect.epoch)?.close()
        return void handles.delete(effect.epoch)
      case 'message': {
        const { message, transport } = effect
        // The hot path: transport → machine → each subscription. No copies, no re-dispatch.
        if (message.id !== undefined) seen.add(message.id, message.data)
        return emit((l) => l.message(message, transport))
      }
      case 'state':
        return emit((l) => l.state(effect.change))
      case 'open':
        return emit((l) => l.open({ transport: effect.transport, status: effect.details?.status, headers: effect.details?.headers }))
      case 'error':
        return emit((l) => l.error(effect.error))
      case 'reset':
        return emit((l) => l.reset({ transport: effect.transport, lastEventId: effect.lastEventId }))
      case 'log':
        try {
          return options.log?.(effect.record)
        } catch (error) {
          return report(error)
        }
      case 'remember':
        return negotiation?.remember(env.storage, endpoint, effect.name, env.now() + rememberFor)
      case 'worked':
        return void worked.add(endpoint)
      case 'page':
        for (const type of PAGE_EVENTS) env.window?.[effect.on ? 'addEventListener' : 'removeEventListener'](type, onPage)
        return
      case 'closed': {
        env.clearTimeout(timer)
        armedAt = timer = undefined
        onClosed?.()
        const all = listeners
        listeners = []
        for (const listener of all) {
          if (effect.error) listener.error(effect.error)
          listener.state(effect.change)
        }
      }
    }
  }

  /** Open transport `name` on `node` for the attempt `epoch`; its reports become inputs. */
  function open(epoch: number, name: TransportName, node: number): void {
    const canSendHeaders = name !== 'websocket' && !(name === 'eventsource' && (options.eventsource === 'native' || (options.eventsource === 'auto' && !env.fetch)))
    const target = options.urls[name] ?? options.nodes[node]!
    const context: TransportContext = {
      name,
      env,
      options,
      target,
      async url(withId, headers = canSendHeaders) {
        const params = await provide(options.query, false, name, headers)
        return withParams(target, { transport: name, ...params, [options.lastEventIdParam]: (withId && state.lastEventId) || undefined })
      },
      headers: () => provide(options.headers, true, name, canSendHeaders),
      lastEventId: () => state.lastEventId,
      types: () => types,
    }
    const sink: TransportSink = {
      open: (details) => feed({ t: 'open', epoch, details }),
      heartbeat: () => feed({ t: 'heartbeat', epoch }),
      activity: () => feed({ t: 'activity', epoch }),
      event: (message) => feed({ t: 'event', epoch, message }),
      id: (id) => feed({ t: 'id', epoch, id }),
      retry: (ms) => feed({ t: 'retry', epoch, ms }),
      warn: (error) => feed({ t: 'warn', epoch, error }),
      close: (error) => feed({ t: 'end', epoch, error }),
    }
    const handle = implementations[name]!(context, sink)
    handles.set(epoch, handle)
    feed({ t: 'handle', epoch, polls: !!handle.polls, proofTimeout: handle.proofTimeout })
  }

  const started = () => state.phase !== 'idle' || queue.length > 0

  return {
    attach(listener) {
      if (state.phase === 'closed') return false
      listeners = [...listeners, listener]
      if (state.idle) feed({ t: 'attach' })
      // Start after the caller had a chance to attach listeners.
      if (!scheduled) queueMicrotask(() => feed({ t: 'start' }))
      scheduled = true
      return true
    },
    detach(listener) {
      const rest = listeners.filter((l) => l !== listener)
      if (rest.length === listeners.length || state.phase === 'closed') return
      listeners = rest
      if (!rest.length) feed({ t: 'detach' })
    },
    reconnect() {
      if (started()) feed({ t: 'reconnect' })
    },
    listen(type) {
      if (types.has(type)) return
      types.add(type)
      if (state.main) handles.get(state.main.epoch)?.listen?.(type)
    },
    get state() {
      return state.phase === 'idle' ? 'connecting' : state.phase
    },
    get transport() {
      return scheduled ? order[state.main?.index ?? state.tried] : undefined
    },
    get lastEventId() {
      return state.lastEventId
    },
    get attempt() {
      return state.backoff.attempt
    },
    get waitingFor() {
      return state.waitingFor
    },
  }
}

