// One subscription per subscribe() call: its listeners, its decoder, its iterators and its close().
// The connection underneath (which may be shared) does the rest. User code runs only here and in
// the connection's providers; after each call the subscription checks whether it was closed.
import { report, type Connection, type ConnectionListener, type Transports } from './connection'
import { DecodeError, type SubwireError } from './errors'
import { createFeed, type Feed } from './iterate'
import { resolveOptions, type SubscribeOptions } from './options'
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
  // Development: live subscriptions per endpoint, to tell of a component that never closes its own.
  const live = new Map<string, number>()
  return function subscribe(url: string | string[], options: SubscribeOptions = {}): Subscription<EventMap> {
    const resolved = resolveOptions(url, options, implementations)
    if (__DEV__ && !resolved.signal?.aborted) {
      const n = (live.get(resolved.endpoint) ?? 0) + 1
      live.set(resolved.endpoint, n)
      if (n === PILED) console.warn(`subwire: ${n} live subscriptions to ${resolved.endpoint} in this page: is one made again and again (a component's effect) without close()? Each delivers every event to its listeners.`)
    }
    const { decoder, bufferSize, signal, onMessage, onError, onStateChange } = resolved
    const listeners = new Map<string, Listener[]>()
    const feeds = new Set<Feed<SubwireEvent<unknown>>>()
    let closed = !!signal?.aborted
    // Development: an error nobody heard was told in the console.
    let warned = false
    // Set once the last 'closed' change was told: from then on() adds nothing.
    let told = false
    let connection: Connection | undefined
    let pageShared = false
    // Where this subscription stood when it ended (a shared connection goes on without it).
    let endedAt: string | undefined
    /** How this subscription gets its events: its own connection, the page's, or as a tab leading or following. */
    const shared = (): StateChange['shared'] => (connection as { role?: 'leader' | 'follower' } | undefined)?.role ?? (pageShared ? 'page' : 'own')

    /** Call each listener of `type`; stop once the subscription is closed (`last`: the 'closed' change itself). */
    function emit(type: string, value: unknown, last = false): void {
      const list = listeners.get(type)
      if (list) {
        for (const listener of list) {
          if (closed && !last) return
          call(listener, value)
        }
      }
    }

    function emitState(change: StateChange): void {
      const own = { ...change, shared: shared() }
      const last = own.state === 'closed'
      call(onStateChange, own)
      if (!closed || last) emit('state', own, last)
    }

    function emitError(error: SubwireError): void {
      call(onError, error)
      if (!closed) emit('error', error)
      if (__DEV__ && !warned && !onError && !listeners.has('error')) {
        warned = true
        console.warn(`subwire: ${error.message}\n(nobody listens for errors: add sub.on('error', …) or onError. Said once per subscription, in the development build.)`)
      }
    }

    /** No event consumer is left: nothing would ever see an event again. */
    const unheard = () => !onMessage && !feeds.size && ![...listeners.keys()].some((type) => !isLifecycle(type))

    const listener: ConnectionListener = {
      // The hot path: decode once, one event object, each listener in turn.
      message(message, transport) {
        if (closed) return
        let data: unknown = message.data
        if (decoder) {
          try {
            data = decoder(message.data, message.type)
          } catch (cause) {
            return emitError(new DecodeError(message.data, transport, cause))
          }
          if (closed) return
        }
        const event: SubwireEvent<unknown> = { type: message.type, data, id: message.id, lastEventId: message.lastEventId, transport }
        if (onMessage) {
          call(onMessage, event)
          if (closed) return
        }
        // A server event named like a lifecycle event goes to 'message' listeners.
        emit(isLifecycle(message.type) ? 'message' : message.type, event)
        if (closed) return
        for (const feed of feeds) feed.push(event)
      },
      error(error) {
        if (!closed) emitError(error)
      },
      state(change) {
        if (closed) return
        if (change.state === 'closed') return end(change.error, change)
        emitState(change)
      },
      open(info) {
        if (!closed) emit('open', info)
      },
      reset(info) {
        if (!closed) emit('reset', info)
      },
    }

    /** The end of this subscription: by close(), by its signal, or because its connection closed. */
    function end(error: SubwireError | undefined, change?: StateChange): void {
      if (closed) return
      closed = true
      if (__DEV__) {
        live.set(resolved.endpoint, live.get(resolved.endpoint)! - 1)
        if (error && !onError && !onStateChange && !listeners.has('error') && !listeners.has('state') && !feeds.size) console.warn(`subwire: closed for good: ${error.message}`)
      }
      signal?.removeEventListener('abort', close)
      endedAt = connection?.lastEventId
      connection?.detach(listener)
      for (const feed of feeds) feed.end(error, !error)
      emitState(change ?? { state: 'closed', transport: connection?.transport, attempt: connection?.attempt ?? 0, reason: error ? 'error' : 'close' })
      told = true
      listeners.clear()
    }

    function close(): void {
      end(undefined)
    }

    function on(type: string, fn: Listener, { once, signal: until }: { once?: boolean; signal?: AbortSignal } = {}): () => void {
      if (told || until?.aborted) return () => {}
      const listener: Listener = once
        ? (value) => {
            off()
            fn(value)
          }
        : fn
      listeners.set(type, [...(listeners.get(type) ?? []), listener])
      if (!isLifecycle(type)) connection?.listen(type)
      const off = () => {
        until?.removeEventListener('abort', off)
        const rest = (listeners.get(type) ?? []).filter((l) => l !== listener)
        if (rest.length) listeners.set(type, rest)
        else listeners.delete(type)
      }
      until?.addEventListener('abort', off, { once: true })
      return off
    }

    if (closed) {
      // An already-aborted signal: closed from the start, and said so once listeners are attached.
      queueMicrotask(() => {
        const change: StateChange = { state: 'closed', transport: undefined, attempt: 0, shared: 'own', reason: 'close' }
        call(onStateChange, change)
        emit('state', change, true)
        told = true
        listeners.clear()
      })
    } else {
      const found = connectionFor(registry, implementations, resolved, options, plugins)
      connection = found.connection
      pageShared = found.shared
      const running = connection.state !== 'connecting' || connection.transport !== undefined
      if (!connection.attach(listener)) {
        closed = true
      } else {
        signal?.addEventListener('abort', close, { once: true })
        // Joining a connection that is already under way: tell this subscription where it stands.
        if (running) {
          queueMicrotask(() => {
            const c = connection!
            if (closed) return
            emitState({ state: c.state, transport: c.transport, attempt: c.attempt, waitingFor: c.waitingFor })
            if (c.state === 'open' && !closed) emit('open', { transport: c.transport! })
          })
        }
      }
    }

    const subscription: Omit<Subscription<EventMap>, typeof Symbol.dispose> = {
      on: on as Subscription<EventMap>['on'],
      close,
      reconnect() {
        if (!closed) connection?.reconnect()
      },
      get state() {
        return closed ? 'closed' : connection!.state
      },
      get transport() {
        return connection?.transport
      },
      get lastEventId() {
        return (closed ? endedAt : connection?.lastEventId) ?? resolved.lastEventId
      },
      [Symbol.asyncIterator]() {
        const feed = createFeed<SubwireEvent<unknown>>(bufferSize, (done, returned) => {
          feeds.delete(done)
          // A `break` out of the only consumer's loop ends the subscription.
          if (returned && !closed && unheard()) close()
        })
        if (closed) feed.end(undefined, true)
        else feeds.add(feed)
        return feed.iterator as AsyncIterableIterator<any>
      },
    }
    const dispose = (Symbol as { dispose?: symbol }).dispose
    if (dispose) (subscription as unknown as Record<symbol, () => void>)[dispose] = close
    return subscription as Subscription<EventMap>
  }
}
