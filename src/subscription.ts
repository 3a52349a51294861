// One subscription per subscribe() call: its listeners, its decoder, its iterators and its close().
// The connection underneath (which may be shared) does the rest. User code runs only here and in
// the connection's providers; after each call the subscription checks whether it was closed.
import { report, type Connection, type ConnectionListener, type Transports } from './connection'
import { DecodeError, type SubwireError } from './errors'
import { createFeed, type Feed } from './iterate'
import { resolveOptions, type Resolved, type SubscribeOptions } from './options'
import { connectionFor, type Plugins, type Registry } from './share'
import type { Decoder, EventMap, EventOf, OpenInfo, ResetInfo, State, StateChange, SubwireEvent, TransportName } from './types'

export type { SubscribeOptions } from './options'
export type { Transports, Negotiation } from './connection'
export type { Plugins } from './share'

/** Listener signatures for lifecycle events. */
export interface LifecycleEvents {
  open: (info: OpenInfo) => void
  error: (error: SubwireError) => void
  state: (change: StateChange) => void
  /** The server could not resume from the last event id (its buffer no longer holds it): refetch what you show. */
  reset: (info: ResetInfo) => void
}

/** Options of `on()`. */
export interface ListenerOptions {
  /** Remove the listener after its first call. */
  once?: boolean
  /** Remove the listener when this signal aborts. */
  signal?: AbortSignal
}

// `Symbol.dispose` for TypeScript setups whose lib lacks it (declared as lib.esnext.disposable and
// @types/node declare it, so that the declarations merge).
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol
  }
}

/** Call it to remove the listener; safe to call more than once. */
export type Unbind = () => void

/** A live subscription: listen, iterate, close. */
export interface Subscription<M extends EventMap = Record<string, string>> extends AsyncIterable<EventOf<M>> {
  /** Listen to a lifecycle event. */
  on<K extends keyof LifecycleEvents>(type: K, listener: LifecycleEvents[K], options?: ListenerOptions): Unbind
  /** Listen to a server event type (`'message'` or the SSE `event` field). */
  on<K extends keyof M & string>(type: K, listener: (event: SubwireEvent<M[K], K>) => void, options?: ListenerOptions): Unbind
  /** Stop: no listener runs after this returns. Idempotent. */
  close(): void
  /** Drop the connection and connect again now, resuming from the last event id (e.g. after a token change). */
  reconnect(): void
  /** Every server event, as a union on `type`; ends when the subscription closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<EventOf<M>>
  /** `close()`, for `using sub = subscribe(…)` (where the runtime has `Symbol.dispose`). */
  [Symbol.dispose](): void
  readonly state: State
  /** The transport in use or being tried. */
  readonly transport: TransportName | undefined
  /** The resume point: the last event id received. */
  readonly lastEventId: string
}

/** Without `decode`, data is text: an event map with other data types names the fix in the type error. */
type TextEvents<M> = { [K in keyof M]: M[K] extends string ? M[K] : "data is text without decode: pass decode: 'json' (or a decoder) to type it" }

/** {@link subscribe}'s signature: what {@link createSubscribe} returns. */
export interface Subscribe {
  /** Decoded data: type it per event name, e.g. `subscribe<{ price: Tick }>(url, { decode: 'json' })`. */
  <M extends EventMap>(url: string | string[], options: SubscribeOptions & { decode: 'json' | Decoder }): Subscription<M>
  /** Text data, as the server sent it. */
  <M extends TextEvents<M> = Record<string, string>>(url: string | string[], options?: SubscribeOptions & { decode?: 'text' | undefined }): Subscription<M>
  /** Options whose `decode` is not known where they are written: data of unknown type. */
  (url: string | string[], options: SubscribeOptions): Subscription<Record<string, unknown>>
}

type Listener = (value: any) => void

const isLifecycle = (type: string) => type === 'open' || type === 'error' || type === 'state' || type === 'reset'

function call(listener: Listener | undefined, value: unknown): void {
  if (!listener) return
  try {
    listener(value)
  } catch (error) {
    report(error)
  }
}

/** Development: this many live subscriptions to one endpoint in a page are told in the console. */
const PILED = 5

/** One subscription as data: what its parts below share. */
interface Sub {
  readonly resolved: Resolved
  readonly listeners: Map<string, Listener[]>
  readonly feeds: Set<Feed<SubwireEvent<unknown>>>
  /** Development: live subscriptions per endpoint in this `subscribe`'s page. */
  readonly live: Map<string, number>
  closed: boolean
  /** Development: an error nobody heard was told in the console. */
  warned?: boolean
  /** Set once the last 'closed' change was told: from then on() adds nothing. */
  told?: boolean
  connection?: Connection
  /** It shares the page's connection. */
  paged?: boolean
  /** Where it stood when it ended (a shared connection goes on without it). */
  endedAt?: string | undefined
  /** What its connection tells it. */
  hear?: ConnectionListener
  readonly close: () => void
}

/**
 * A `subscribe` that knows only the transports given, so a bundler leaves the others out.
 * `subscribe` from `subwire` is `createSubscribe({ websocket, eventsource, longpoll, poll })`.
 *
 * @example
 * import { createSubscribe, eventsource } from 'subwire/core'
 * const subscribe = createSubscribe({ eventsource })
 */
export function createSubscribe(implementations: Transports, plugins: Plugins = {}): Subscribe {
  const registry: Registry = new Map()
  const live = new Map<string, number>()
  return function subscribe(url: string | string[], options: SubscribeOptions = {}): Subscription<EventMap> {
    const resolved = resolveOptions(url, options, implementations)
    const { signal } = resolved
    const u: Sub = { resolved, listeners: new Map(), feeds: new Set(), live, closed: !!signal?.aborted, close: () => end(u) }
    if (__DEV__ && !u.closed) {
      const n = (live.get(resolved.endpoint) ?? 0) + 1
      live.set(resolved.endpoint, n)
      if (n === PILED) console.warn(`subwire: ${n} live subscriptions to ${resolved.endpoint} in this page: is one made again and again (a component's effect) without close()? Each delivers every event to its listeners.`)
    }
    if (u.closed) {
      // An already-aborted signal: closed from the start, and said so once listeners are attached.
      queueMicrotask(() => {
        emitState(u, { state: 'closed', transport: undefined, attempt: 0, reason: 'close' })
        u.told = true
        u.listeners.clear()
      })
    } else {
      const found = connectionFor(registry, implementations, resolved, options, plugins)
      const connection = (u.connection = found.connection)
      u.paged = found.shared
      const running = connection.state !== 'connecting' || connection.transport !== undefined
      if (!connection.attach((u.hear = hear(u)))) u.closed = true
      else {
        signal?.addEventListener('abort', u.close, { once: true })
        // Joining a connection that is already under way: tell this subscription where it stands.
        if (running) {
          queueMicrotask(() => {
            if (u.closed) return
            emitState(u, { state: connection.state, transport: connection.transport, attempt: connection.attempt, waitingFor: connection.waitingFor })
            if (connection.state === 'open' && !u.closed) emit(u, 'open', { transport: connection.transport! })
          })
        }
      }
    }
    return face(u)
  }
}

/** Call each listener of `type`; stop once the subscription is closed (`last`: the 'closed' change itself). */
function emit(u: Sub, type: string, value: unknown, last = false): void {
  const list = u.listeners.get(type)
  if (list) {
    for (const listener of list) {
      if (u.closed && !last) return
      call(listener, value)
    }
  }
}

/** A state change, told with how this subscription gets its events: its own connection, the page's, or as a tab leading or following. */
function emitState(u: Sub, change: StateChange, last = change.state === 'closed'): void {
  const role = (u.connection as { role?: 'leader' | 'follower' } | undefined)?.role
  const own = { ...change, shared: role ?? (u.paged ? 'page' : 'own') }
  call(u.resolved.onStateChange, own)
  if (!u.closed || last) emit(u, 'state', own, last)
}

function emitError(u: Sub, error: SubwireError): void {
  const { onError } = u.resolved
  call(onError, error)
  if (!u.closed) emit(u, 'error', error)
  if (__DEV__ && !u.warned && !onError && !u.listeners.has('error')) {
    u.warned = true
    console.warn(`subwire: ${error.message}\n(nobody listens for errors: add sub.on('error', …) or onError. Said once per subscription, in the development build.)`)
  }
}

/** What the connection tells a subscription. */
function hear(u: Sub): ConnectionListener {
  const { decoder, onMessage } = u.resolved
  return {
    // The hot path: decode once, one event object, each listener in turn.
    message(message, transport) {
      if (u.closed) return
      let data: unknown = message.data
      if (decoder) {
        try {
          data = decoder(message.data, message.type)
        } catch (cause) {
          return emitError(u, new DecodeError(message.data, transport, cause))
        }
        if (u.closed) return
      }
      const event: SubwireEvent<unknown> = { type: message.type, data, id: message.id, lastEventId: message.lastEventId, transport }
      if (onMessage) {
        call(onMessage, event)
        if (u.closed) return
      }
      // A server event named like a lifecycle event goes to 'message' listeners.
      emit(u, isLifecycle(message.type) ? 'message' : message.type, event)
      if (u.closed) return
      for (const feed of u.feeds) feed.push(event)
    },
    error(error) {
      if (!u.closed) emitError(u, error)
    },
    state(change) {
      if (u.closed) return
      if (change.state === 'closed') return end(u, change.error, change)
      emitState(u, change)
    },
    open(info) {
      if (!u.closed) emit(u, 'open', info)
    },
    reset(info) {
      if (!u.closed) emit(u, 'reset', info)
    },
  }
}

/** The end of a subscription: by close(), by its signal, or because its connection closed. */
function end(u: Sub, error?: SubwireError, change?: StateChange): void {
  if (u.closed) return
  u.closed = true
  const { resolved, connection, listeners, feeds } = u
  if (__DEV__) {
    u.live.set(resolved.endpoint, u.live.get(resolved.endpoint)! - 1)
    if (error && !resolved.onError && !resolved.onStateChange && !listeners.has('error') && !listeners.has('state') && !feeds.size) console.warn(`subwire: closed for good: ${error.message}`)
  }
  resolved.signal?.removeEventListener('abort', u.close)
  u.endedAt = connection?.lastEventId
  connection?.detach(u.hear!)
  for (const feed of feeds) feed.end(error, !error)
  emitState(u, change ?? { state: 'closed', transport: connection?.transport, attempt: connection?.attempt ?? 0, reason: error ? 'error' : 'close' })
  u.told = true
  listeners.clear()
}

function on(u: Sub, type: string, fn: Listener, { once, signal: until }: ListenerOptions = {}): Unbind {
  if (u.told || until?.aborted) return () => {}
  const { listeners } = u
  const listener: Listener = once
    ? (value) => {
        off()
        fn(value)
      }
    : fn
  listeners.set(type, [...(listeners.get(type) ?? []), listener])
  if (!isLifecycle(type)) u.connection?.listen(type)
  const off = () => {
    until?.removeEventListener('abort', off)
    const rest = (listeners.get(type) ?? []).filter((l) => l !== listener)
    if (rest.length) listeners.set(type, rest)
    else listeners.delete(type)
  }
  until?.addEventListener('abort', off, { once: true })
  return off
}

/** What subscribe() returns. */
function face(u: Sub): Subscription<EventMap> {
  const { close } = u
  const subscription: Omit<Subscription<EventMap>, typeof Symbol.dispose> = {
    on: ((type: string, fn: Listener, options?: ListenerOptions) => on(u, type, fn, options)) as Subscription<EventMap>['on'],
    close,
    reconnect() {
      if (!u.closed) u.connection?.reconnect()
    },
    get state() {
      return u.closed ? 'closed' : u.connection!.state
    },
    get transport() {
      return u.connection?.transport
    },
    get lastEventId() {
      return (u.closed ? u.endedAt : u.connection?.lastEventId) ?? u.resolved.lastEventId
    },
    [Symbol.asyncIterator]() {
      const feed = createFeed<SubwireEvent<unknown>>(u.resolved.bufferSize, (done, returned) => {
        u.feeds.delete(done)
        // A `break` out of the only consumer's loop ends the subscription: nothing would ever see an event again.
        if (returned && !u.closed && !u.resolved.onMessage && !u.feeds.size && ![...u.listeners.keys()].some((type) => !isLifecycle(type))) close()
      })
      if (u.closed) feed.end(undefined, true)
      else u.feeds.add(feed)
      return feed.iterator as AsyncIterableIterator<any>
    },
  }
  const dispose = (Symbol as { dispose?: symbol }).dispose
  if (dispose) (subscription as unknown as Record<symbol, () => void>)[dispose] = close
  return subscription as Subscription<EventMap>
}
