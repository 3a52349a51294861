// The one state machine that owns a subscription's life: which transport runs, the resume point,
// the attempt counter, every timer, and the retry-or-fatal decision. Transports only report.
import { nextDelay, policyOf } from './backoff'
import { classify } from './classify'
import { resolveEnv } from './env'
import {
  ConnectionError,
  DecodeError,
  HttpError,
  SubwireError,
  TimeoutError,
} from './errors'
import type { EventSourceMessage } from './parser'
import { eventsource } from './transports/eventsource'
import { longpoll } from './transports/longpoll'
import { poll } from './transports/poll'
import type { Transport, TransportContext, TransportHandle, TransportSink } from './transports/types'
import { websocket } from './transports/websocket'
import type {
  Decoder,
  Env,
  EventMap,
  Provider,
  RetryFunction,
  RetryOptions,
  State,
  StateChange,
  SubwireEvent,
  TransportName,
} from './types'
import { resolveUrl, withParams } from './url'

const TRANSPORTS: Record<TransportName, Transport> = { websocket, eventsource, longpoll, poll }

/** Lifecycle event names. A server event with one of these types is delivered to `'message'` listeners. */
const LIFECYCLE = { open: 1, error: 1, state: 1 } as Record<string, 1>

/** Options of {@link subscribe}. Every field is optional; defaults are listed with each. */
export interface SubscribeOptions {
  /**
   * The transports to use, in order of preference. Those the browser lacks are skipped.
   * @default ['websocket', 'eventsource', 'longpoll', 'poll']
   */
  transports?: TransportName[]
  /** A different URL for some transports, e.g. `{ websocket: 'wss://push.example.com/ws' }`. */
  urls?: Partial<Record<TransportName, string>>
  /**
   * The resume point to start from (e.g. saved from an earlier page).
   * @default ''
   */
  lastEventId?: string
  /**
   * The query parameter that carries the resume id where no header can (WebSocket, polling,
   * native EventSource, cross-origin SSE).
   * @default 'lastEventId'
   */
  lastEventIdParam?: string
  /**
   * Send cookies and HTTP auth cross-origin (`credentials: 'include'`, `withCredentials`).
   * @default false
   */
  withCredentials?: boolean
  /**
   * Request headers, or a function returning them, called on every connect and every poll (so a
   * refreshed token is used). Not possible on WebSocket or native EventSource: use `query` there.
   * @default {}
   */
  headers?: Provider<Record<string, string>>
  /**
   * Query parameters, or a function returning them, called on every connect and every poll.
   * @default {}
   */
  query?: Provider<Record<string, string>>
  /**
   * How listeners receive `data`: the text as sent, `JSON.parse`d, or your function. A failure
   * skips the event with a `DecodeError` on `'error'`.
   * @default 'text'
   */
  decode?: 'text' | 'json' | Decoder
  /** Aborting this signal closes the subscription. */
  signal?: AbortSignal
  /** Called for every server event, whatever its type. */
  onMessage?: (event: SubwireEvent<any>) => void
  /** Called for every error (also those subwire recovers from). */
  onError?: (error: SubwireError) => void
  /** Called on every state change. */
  onStateChange?: (change: StateChange) => void
  /** Backoff settings, or a function `(attempt, error) => delay | false`. */
  retry?: RetryOptions | RetryFunction
  /**
   * How the `eventsource` transport connects: fetch streaming (headers possible), the native
   * `EventSource`, or fetch streaming where the browser has it.
   * @default 'auto'
   */
  eventsource?: 'auto' | 'fetch' | 'native'
  /**
   * Milliseconds between short polls (the server's `retry` field overrides it).
   * @default 3000
   */
  pollInterval?: number
  /**
   * Milliseconds a poll may wait for response headers before it is abandoned; keep it above the
   * server's long-poll hold time.
   * @default 60000
   */
  longPollTimeout?: number
  /**
   * Milliseconds a new connection may take to deliver its first bytes (an event or a heartbeat).
   * @default 10000
   */
  connectTimeout?: number
  /**
   * Milliseconds without any bytes after which a streaming connection is treated as dead and
   * replaced. Servers meet it by sending a comment (`: heartbeat`) more often. 0 turns it off.
   * @default 45000
   */
  heartbeatTimeout?: number
  /**
   * Largest event (and line, and JSON frame) accepted, in characters.
   * @default 8388608
   */
  maxEventSize?: number
  /**
   * Events an async iterator may fall behind by before it ends with a `QueueOverflowError`.
   * @default 1000
   */
  bufferSize?: number
  /** Replace browser objects (WebSocket, fetch, timers, clock, randomness), e.g. in tests. */
  env?: Partial<Env>
}

/** Listener signatures for lifecycle events. */
export interface LifecycleEvents {
  open: (info: { transport: TransportName }) => void
  error: (error: SubwireError) => void
  state: (change: StateChange) => void
}

/** Call it to remove the listener; safe to call more than once. */
export type Unbind = () => void

/** A live subscription: listen, iterate, close. */
export interface Subscription<M extends EventMap = Record<string, string>> extends AsyncIterable<SubwireEvent<M[keyof M & string], keyof M & string>> {
  /** Listen to a lifecycle event. */
  on<K extends keyof LifecycleEvents>(type: K, listener: LifecycleEvents[K]): Unbind
  /** Listen to a server event type (`'message'` or the SSE `event` field). */
  on<K extends keyof M & string>(type: K, listener: (event: SubwireEvent<M[K], K>) => void): Unbind
  /** Stop: no listener runs after this returns. Idempotent. */
  close(): void
  readonly state: State
  /** The transport in use or being tried. */
  readonly transport: TransportName | undefined
  /** The resume point: the last event id received. */
  readonly lastEventId: string
}

const DEFAULT_TRANSPORTS: TransportName[] = ['websocket', 'eventsource', 'longpoll', 'poll']

type Listener = (value: any) => void
interface Tap {
  push(event: SubwireEvent<unknown>): void
  end(error?: SubwireError): void
}

/** A listener threw: report it as the DOM does for event listeners, and go on. */
function report(error: unknown): void {
  ;(globalThis as { reportError?: (e: unknown) => void }).reportError?.(error)
}

async function resolve<T>(provider: Provider<T> | undefined): Promise<T | undefined> {
  return typeof provider === 'function' ? (provider as () => T | Promise<T>)() : provider
}

/**
 * Subscribe to the events a server pushes at `url`.
 *
 * @example
 * const sub = subscribe<{ price: { symbol: string; price: number } }>('/events', { decode: 'json' })
 * sub.on('price', (e) => console.log(e.data.price))
 */
export function subscribe<M extends EventMap>(url: string, options: SubscribeOptions & { decode: 'json' | Decoder }): Subscription<M>
export function subscribe<M extends EventMap = Record<string, string>>(url: string, options?: SubscribeOptions): Subscription<M>
export function subscribe(url: string, options: SubscribeOptions = {}): Subscription<EventMap> {
  const {
    transports = DEFAULT_TRANSPORTS,
    urls = {},
    lastEventId: initialLastEventId = '',
    lastEventIdParam = 'lastEventId',
    withCredentials = false,
    headers,
    query,
    decode = 'text',
    signal,
    onMessage,
    onError,
    onStateChange,
    retry,
    eventsource: eventsourceMode = 'auto',
    pollInterval = 3000,
    longPollTimeout = 60000,
    connectTimeout = 10000,
    heartbeatTimeout = 45000,
    maxEventSize = 8388608,
    bufferSize = 1000,
  } = options
  const env = resolveEnv(options.env)
  const policy = policyOf(typeof retry === 'object' ? retry : undefined)
  const customRetry = typeof retry === 'function' ? retry : undefined
  const decoder: Decoder | undefined = decode === 'json' ? (data) => JSON.parse(data) : decode === 'text' ? undefined : decode

  const listeners: Record<string, Listener[]> = Object.create(null)
  const taps = new Set<Tap>()
  const candidates = transports.filter((name) =>
    name === 'websocket' ? !!env.WebSocket : name === 'eventsource' ? !!(env.fetch || env.EventSource) : !!env.fetch,
  )

  let state: State = 'connecting'
  let current: TransportName | undefined
  let index = 0
  let handle: TransportHandle | undefined
  let epoch = 0
  let attempt = 0
  let failingSince: number | undefined
  let openedAt = 0
  let proven = false
  let authRetried = false
  let retryField: number | undefined
  let lastEventId = initialLastEventId
  let retryTimer: unknown
  let connectTimer: unknown
  let heartbeatTimer: unknown

  function call(listener: Listener | undefined, value: unknown): void {
    if (!listener) return
    try {
      listener(value)
    } catch (error) {
      report(error)
    }
  }

  function emit(type: string, value: unknown): void {
    const list = listeners[type]
    if (list) for (const listener of list) call(listener, value)
  }

  function emitError(error: SubwireError): void {
    call(onError, error)
    emit('error', error)
  }

  function setState(next: State, extra?: { delay?: number; error?: SubwireError | undefined }): void {
    state = next
    const change: StateChange = { state: next, transport: current, attempt, ...extra }
    call(onStateChange, change)
    emit('state', change)
  }

  // The hot path: parser → here → listeners. No copies, no re-dispatch.
  function deliver(message: EventSourceMessage, transport: TransportName): void {
    lastEventId = message.lastEventId
    let data: unknown = message.data
    if (decoder) {
      try {
        data = decoder(message.data, message.type)
      } catch (cause) {
        return emitError(new DecodeError(message.data, transport, cause))
      }
    }
    const event: SubwireEvent<unknown> = { type: message.type, data, id: message.id, lastEventId: message.lastEventId, transport }
    call(onMessage, event)
    const list = listeners[LIFECYCLE[message.type] ? 'message' : message.type]
    if (list) {
      for (const listener of list) {
        // close() from a listener stops delivery at once, even mid-chunk.
        if (state === 'closed') return
        call(listener, event)
      }
    }
    for (const tap of taps) tap.push(event)
  }

  function clearTimers(): void {
    env.clearTimeout(retryTimer)
    env.clearTimeout(connectTimer)
    env.clearTimeout(heartbeatTimer)
    retryTimer = connectTimer = heartbeatTimer = undefined
  }

  function stopTransport(): void {
    epoch++
    clearTimers()
    const h = handle
    handle = undefined
    h?.close()
  }

  function armHeartbeat(my: number): void {
    if (!heartbeatTimeout || (current !== 'websocket' && current !== 'eventsource')) return
    env.clearTimeout(heartbeatTimer)
    heartbeatTimer = env.setTimeout(() => {
      if (my === epoch) ended(new TimeoutError(`silent for ${heartbeatTimeout} ms (heartbeatTimeout)`, current!))
    }, heartbeatTimeout)
  }

  function connect(): void {
    retryTimer = undefined
    if (state === 'closed') return
    const name = (current = candidates[index % candidates.length]!)
    const my = ++epoch
    proven = false
    openedAt = 0
    setState('connecting')
    const context: TransportContext = {
      name,
      env,
      async url() {
        const params = await resolve(query)
        return withParams(resolveUrl(urls[name] ?? url, env.location), { transport: name, ...params })
      },
      async headers() {
        return (await resolve(headers)) ?? {}
      },
      lastEventId: () => lastEventId,
      lastEventIdParam,
      withCredentials,
      maxEventSize,
      pollInterval,
      longPollTimeout,
      eventsource: eventsourceMode,
      types: () => Object.keys(listeners).filter((type) => !LIFECYCLE[type]),
    }
    const live = () => my === epoch && state !== 'closed'
    const sink: TransportSink = {
      open() {
        if (!live()) return
        openedAt = env.now()
        setState('open')
        emit('open', { transport: name })
        armHeartbeat(my)
      },
      activity() {
        if (!live()) return
        if (!proven) {
          proven = true
          authRetried = false
          env.clearTimeout(connectTimer)
        }
        armHeartbeat(my)
      },
      event(message) {
        if (!live()) return
        sink.activity()
        deliver(message, name)
      },
      id(value) {
        if (live()) lastEventId = value
      },
      retry(ms) {
        if (live()) retryField = ms
      },
      warn(error) {
        if (live()) emitError(error)
      },
      close(error) {
        if (live()) ended(error)
      },
    }
    connectTimer = env.setTimeout(() => {
      if (my === epoch) ended(new TimeoutError(`silent for ${connectTimeout} ms (connectTimeout)`, name))
    }, connectTimeout)
    handle = TRANSPORTS[name](context, sink)
  }

  function ended(error: SubwireError | undefined): void {
    const wasProven = proven
    const now = env.now()
    if (openedAt && wasProven && now - openedAt >= policy.resetAfter) {
      attempt = 0
      failingSince = undefined
    }
    stopTransport()
    if (error) emitError(error)
    let decision = classify(error, wasProven)
    let hint = error instanceof HttpError || error instanceof ConnectionError ? error.retryAfter : undefined
    // A 401 may be an expired token: ask the providers again once, at once, before giving up.
    if (error instanceof HttpError && error.status === 401 && !authRetried) {
      authRetried = true
      decision = 'retry'
      hint = 0
    }
    if (decision === 'fatal') return finish(error)
    if (decision === 'fallback') {
      if (index + 1 < candidates.length) {
        index++
        return connect()
      }
      // Every transport failed this way; an endpoint missing everywhere will not appear by waiting.
      if (error instanceof HttpError && !error.retryable) return finish(error)
      index = 0
    }
    failingSince ??= now
    const delay = hint === 0 ? 0 : nextDelay(policy, customRetry, attempt, now - failingSince, error, retryField, hint, env.random)
    if (delay === false) return finish(error ?? new ConnectionError('gave up reconnecting', current!))
    attempt++
    setState('reconnecting', { delay, error })
    retryTimer = env.setTimeout(connect, delay)
  }

  function finish(error?: SubwireError): void {
    if (state === 'closed') return
    stopTransport()
    signal?.removeEventListener('abort', close)
    setState('closed', { error })
    for (const tap of taps) tap.end(error)
    taps.clear()
  }

  function close(): void {
    finish()
  }

  function on(type: string, listener: Listener): Unbind {
    const isNew = !listeners[type]
    listeners[type] = [...(listeners[type] ?? []), listener]
    if (isNew && !LIFECYCLE[type]) handle?.listen?.(type)
    return () => {
      const list = listeners[type]
      if (!list) return
      const rest = list.filter((l) => l !== listener)
      if (rest.length) listeners[type] = rest
      else delete listeners[type]
    }
  }

  function iterate(): AsyncIterator<SubwireEvent<unknown>> {
    const queue: SubwireEvent<unknown>[] = []
    // A waiting next(): settled by the next event, or by the end.
    let waiting: { resolve(r: IteratorResult<SubwireEvent<unknown>>): void; reject(e: unknown): void } | undefined
    let ended = state === 'closed'
    let failure: SubwireError | undefined
    const done = { value: undefined, done: true } as const
    const tap: Tap = {
      push(value) {
        if (waiting) waiting.resolve({ value, done: false })
        else if (queue.length < bufferSize) return void queue.push(value)
        else tap.end(new SubwireError('overflow', `iterator fell ${bufferSize} events behind; consume faster or raise bufferSize`, undefined, false))
        waiting = undefined
      },
      end(error) {
        taps.delete(tap)
        if (ended) return
        ended = true
        failure = error
        if (waiting) error ? waiting.reject(error) : waiting.resolve(done)
        waiting = undefined
      },
    }
    if (!ended) taps.add(tap)
    return {
      next() {
        if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false })
        if (!ended) return new Promise((resolve, reject) => (waiting = { resolve, reject }))
        const error = failure
        failure = undefined
        return error ? Promise.reject(error) : Promise.resolve(done)
      },
      return() {
        queue.length = 0
        tap.end()
        failure = undefined
        return Promise.resolve(done)
      },
    }
  }

  if (signal?.aborted) state = 'closed'
  else {
    signal?.addEventListener('abort', close, { once: true })
    // Start after the caller had a chance to attach listeners.
    queueMicrotask(() => {
      if (state === 'closed') return
      if (!candidates.length) {
        return finish(
          new SubwireError('unsupported', `no transport of ${transports} can run here; provide env.WebSocket or env.fetch`, undefined, false),
        )
      }
      connect()
    })
  }

  return {
    on: on as Subscription<EventMap>['on'],
    close,
    get state() {
      return state
    },
    get transport() {
      return current
    },
    get lastEventId() {
      return lastEventId
    },
    [Symbol.asyncIterator]: iterate as () => AsyncIterator<SubwireEvent<any, string>>,
  }
}
