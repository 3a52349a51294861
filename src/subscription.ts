// The one state machine that owns a subscription's life: which transport runs, the resume point,
// the attempt counter, every timer, and the retry-or-fatal decision. Transports only report.
import { nextDelay, policyOf } from './backoff'
import { classify } from './classify'
import { resolveEnv } from './env'
import { recall, remember } from './remember'
import {
  ConnectionError,
  DecodeError,
  HttpError,
  SubwireError,
  TimeoutError,
} from './errors'
import type { EventSourceMessage } from './parser'
import type { Transport, TransportContext, TransportHandle, TransportSink } from './transports/types'
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
   * Events an async iterator may fall behind by before it ends with an `overflow` error.
   * @default 1000
   */
  bufferSize?: number
  /**
   * Milliseconds to remember, per endpoint, the transport that worked, so the next page load
   * starts there (localStorage, else memory). 0 turns it off.
   * @default 86400000 (one day)
   */
  rememberFor?: number
  /**
   * Milliseconds on a fallback transport before a better one is tried in the background; when it
   * delivers, the subscription moves up to it and resumes from the last id. Doubles after every
   * failed probe or step-down (up to 32×). 0 turns it off.
   * @default 60000
   */
  upgradeAfter?: number
  /**
   * Close the connection while the page is hidden and reconnect (resuming) when it is visible.
   * @default false
   */
  pauseWhenHidden?: boolean
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

/** Page events that pause or resume a subscription. */
const PAGE_EVENTS = ['online', 'offline', 'visibilitychange', 'pagehide', 'pageshow']

/**
 * The sleep watchdog: a timer every WATCH ms. When it fires more than WATCH + JUMP ms after the
 * last one and nothing arrived meanwhile, the page was asleep (a hidden tab's throttled timers run
 * at most about a minute late): the connection is not trusted and is replaced at once.
 */
const WATCH = 10000
const JUMP = 60000

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

/** {@link subscribe}'s signature: what {@link createSubscribe} returns. */
export interface Subscribe {
  <M extends EventMap>(url: string, options: SubscribeOptions & { decode: 'json' | Decoder }): Subscription<M>
  <M extends EventMap = Record<string, string>>(url: string, options?: SubscribeOptions): Subscription<M>
}

/** Transport implementations by name, as exported by `subwire/core`. */
export type Transports = Partial<Record<TransportName, Transport>>

/**
 * A `subscribe` that knows only the transports given, so a bundler leaves the others out.
 * `subscribe` from `subwire` is `createSubscribe({ websocket, eventsource, longpoll, poll })`.
 *
 * @example
 * import { createSubscribe, eventsource } from 'subwire/core'
 * const subscribe = createSubscribe({ eventsource })
 */
export function createSubscribe(implementations: Transports): Subscribe {
  return function subscribe(url: string, options: SubscribeOptions = {}): Subscription<EventMap> {
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
      rememberFor = 86400000,
      upgradeAfter = 60000,
      pauseWhenHidden = false,
    } = options
    const env = resolveEnv(options.env)
    const policy = policyOf(typeof retry === 'object' ? retry : undefined)
    const customRetry = typeof retry === 'function' ? retry : undefined
    const decoder: Decoder | undefined = decode === 'json' ? (data) => JSON.parse(data) : decode === 'text' ? undefined : decode

    const listeners: Record<string, Listener[]> = Object.create(null)
    const taps = new Set<Tap>()
    const candidates = transports.filter((name) =>
      implementations[name] &&
      (name === 'websocket' ? env.WebSocket : name === 'eventsource' && eventsourceMode !== 'fetch' && (eventsourceMode === 'native' || !env.fetch) ? env.EventSource : env.fetch),
    )

    // The endpoint the remembered transport is kept under: no query string (it may hold a token).
    const base = resolveUrl(url, env.location)
    const endpoint = base.origin + base.pathname
    const page = env.window

    let state: State = 'connecting'
    let current: TransportName | undefined
    let index = rememberFor ? Math.max(0, candidates.indexOf(recall(env.storage, endpoint, env.now())!)) : 0
    let handle: TransportHandle | undefined
    let probeHandle: TransportHandle | undefined
    let probeTarget = 0
    let probeFailures = 0
    let waitingFor: StateChange['waitingFor']
    let lastActivity = 0
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
    let probeTimer: unknown
    let watchTimer: unknown

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

    function setState(next: State, extra?: Omit<StateChange, 'state' | 'transport' | 'attempt'>): void {
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
      env.clearTimeout(probeTimer)
      retryTimer = connectTimer = heartbeatTimer = probeTimer = undefined
    }

    function stopTransport(): void {
      epoch++
      clearTimers()
      const h = handle
      const p = probeHandle
      handle = probeHandle = undefined
      h?.close()
      p?.close()
    }

    /** Stop and wait for the page to be online, visible or shown again. */
    function pause(reason: StateChange['waitingFor']): void {
      stopTransport()
      waitingFor = reason
      setState('reconnecting', { waitingFor: reason })
    }

    // online / offline / visibilitychange / pagehide / pageshow
    function onPage(event: Event): void {
      const type = event.type
      if (state === 'closed') return
      if (type === 'offline') {
        // An open connection may well survive a short loss; one being set up or waited for stops.
        if (state !== 'open') pause('online')
      } else if (type === 'pagehide') {
        // Release the connection so the page can enter the back/forward cache.
        pause('pageshow')
      } else if (type === 'visibilitychange' && env.hidden()) {
        if (pauseWhenHidden) pause('visible')
      } else if (retryTimer || waitingFor === (type === 'visibilitychange' ? 'visible' : type)) {
        // Online again, visible again, back from the cache: whatever was waiting goes now.
        stopTransport()
        connect()
      }
    }

    function watch(last: number): void {
      watchTimer = env.setTimeout(() => {
        const now = env.now()
        if (now - last > WATCH + JUMP && lastActivity < last && !waitingFor && state !== 'closed') {
          stopTransport()
          connect()
        }
        watch(now)
      }, WATCH)
    }

    function silent(ms: number, option: string): TimeoutError {
      return new TimeoutError(`silent for ${ms} ms (${option})`, current!)
    }

    /**
     * One timer per connection, not one per event: when it fires it looks at the last activity and
     * either ends the connection or waits out the rest of the timeout. (stopTransport() clears it
     * whenever the connection changes, so it always belongs to the current one.)
     */
    function armHeartbeat(): void {
      // Streams only: longpoll and poll answer when they have something and carry no heartbeats.
      if (heartbeatTimeout && !heartbeatTimer && !current!.endsWith('poll')) heartbeatTimer = env.setTimeout(beat, heartbeatTimeout)
    }

    function beat(): void {
      const idle = env.now() - lastActivity
      if (idle < heartbeatTimeout) heartbeatTimer = env.setTimeout(beat, heartbeatTimeout - idle)
      else ended(silent(heartbeatTimeout, 'heartbeatTimeout'))
    }

    function contextOf(name: TransportName): TransportContext {
      return {
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
    }

    function connect(): void {
      retryTimer = undefined
      waitingFor = undefined
      if (state === 'closed') return
      if (!env.online()) return pause('online')
      if (pauseWhenHidden && env.hidden()) return pause('visible')
      const name = (current = candidates[index % candidates.length]!)
      const my = ++epoch
      proven = false
      openedAt = 0
      setState('connecting')
      const live = () => my === epoch && state !== 'closed'
      const sink: TransportSink = {
        open() {
          if (!live()) return
          openedAt = env.now()
          setState('open')
          emit('open', { transport: name })
          // (Until its first bytes, connectTimeout watches the connection; heartbeatTimeout after.)
        },
        activity() {
          if (!live()) return
          lastActivity = env.now()
          if (!proven) {
            proven = true
            authRetried = false
            env.clearTimeout(connectTimer)
            if (rememberFor) remember(env.storage, endpoint, name, lastActivity + rememberFor)
            if (index && upgradeAfter) scheduleProbe()
          }
          armHeartbeat()
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
        if (my === epoch) ended(silent(connectTimeout, 'connectTimeout'))
      }, connectTimeout)
      handle = implementations[name]!(contextOf(name), sink)
    }

    /** The next probe: upgradeAfter, doubled per failed probe or step-down, at most 32×. */
    function scheduleProbe(): void {
      probeTimer = env.setTimeout(probe, upgradeAfter * 2 ** Math.min(probeFailures, 5))
    }

    /**
     * On a fallback transport: open a better one on the side. Once it delivers anything it has
     * proven itself; it is closed and the subscription reconnects on it, resuming from the last id,
     * so nothing is lost or doubled. A probe that fails changes nothing but the next probe's delay.
     */
    function probe(): void {
      const target = probeTarget
      const name = candidates[target]!
      const my = epoch
      const end = (ok: boolean) => {
        if (my !== epoch || !probeHandle) return
        const p = probeHandle
        probeHandle = undefined
        env.clearTimeout(probeTimer)
        p.close()
        if (ok) {
          index = target
          stopTransport()
          return connect()
        }
        probeFailures++
        probeTarget = (target + 1) % index
        scheduleProbe()
      }
      const nothing = () => {}
      probeHandle = implementations[name]!(contextOf(name), {
        open: nothing,
        activity: () => end(true),
        event: () => end(true),
        id: nothing,
        retry: nothing,
        warn: nothing,
        close: () => end(false),
      })
      probeTimer = env.setTimeout(() => end(false), connectTimeout)
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
      // Offline, every transport fails: that says nothing about them. Wait for the network.
      if (!env.online()) return pause('online')
      let decision = classify(error, wasProven)
      let hint = error instanceof HttpError || error instanceof ConnectionError ? error.retryAfter : undefined
      // A 401 or 403 may be an expired token: ask the providers again once, at once, before giving up.
      if (error instanceof HttpError && (error.status === 401 || error.status === 403) && !authRetried) {
        authRetried = true
        decision = 'retry'
        hint = 0
      }
      if (decision === 'fatal') return finish(error)
      if (decision === 'fallback') {
        probeFailures++
        // A buffering proxy spoils every streaming transport alike: step down to long polling.
        const next = error?.kind === 'buffered' ? Math.max(index + 1, candidates.indexOf('longpoll')) : index + 1
        if (next < candidates.length) {
          index = next
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
      env.clearTimeout(watchTimer)
      for (const type of PAGE_EVENTS) page?.removeEventListener(type, onPage)
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

    // for await: a queue bounded by bufferSize, filled from the moment the iterator is made.
    function iterate(): AsyncGenerator<SubwireEvent<unknown>> {
      const queue: SubwireEvent<unknown>[] = []
      let wake: (() => void) | undefined
      let ended = state === 'closed'
      let failure: SubwireError | undefined
      const tap: Tap = {
        push(value) {
          if (queue.length < bufferSize) queue.push(value)
          else tap.end(new SubwireError('overflow', `iterator fell ${bufferSize} events behind; consume faster or raise bufferSize`, undefined, false))
          wake?.()
        },
        end(error) {
          taps.delete(tap)
          if (!ended) failure = error
          ended = true
          wake?.()
        },
      }
      if (!ended) taps.add(tap)
      return (async function* () {
        try {
          for (;;) {
            if (queue.length) yield queue.shift()!
            else if (failure) throw failure
            else if (ended) return
            else await new Promise<void>((resolve) => (wake = resolve))
          }
        } finally {
          tap.end()
        }
      })()
    }

    if (signal?.aborted) state = 'closed'
    else {
      signal?.addEventListener('abort', close, { once: true })
      // Start after the caller had a chance to attach listeners.
      queueMicrotask(() => {
        if (state === 'closed') return
        if (!candidates.length) {
          return finish(
            new SubwireError('unsupported', `no transport of ${transports} can run here`, undefined, false),
          )
        }
        for (const type of PAGE_EVENTS) page?.addEventListener(type, onPage)
        watch(env.now())
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
}
