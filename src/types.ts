import type { SubwireError } from './errors'

/** The four ways subwire can receive events. */
export type TransportName = 'websocket' | 'eventsource' | 'longpoll' | 'poll'

/** Where a subscription is in its life. */
export type State = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** A map from event type to the type of its decoded data, e.g. `{ price: Tick; news: Article }`. */
export type EventMap = Record<string, unknown>

/** One event, the same object on every transport. */
export interface SubwireEvent<T = string, K extends string = string> {
  /** The event type: the SSE `event` field, `'message'` when absent. */
  readonly type: K
  /** The data, decoded by the `decode` option (text by default). */
  readonly data: T
  /** This event's own id, or `undefined` when it had none. */
  readonly id: string | undefined
  /** The resume point after this event: the last id the server sent. */
  readonly lastEventId: string
  /** The transport that delivered it. */
  readonly transport: TransportName
}

/** Every event of an event map, as a union discriminated on `type`. */
export type EventOf<M extends EventMap> = { [K in keyof M & string]: SubwireEvent<M[K], K> }[keyof M & string]

/** The payload of a `'state'` event. */
export interface StateChange {
  readonly state: State
  /** The transport in use or being tried. */
  readonly transport: TransportName | undefined
  /** Failed attempts in a row so far (0 on the first try). */
  readonly attempt: number
  /** With `reconnecting`: milliseconds until the next attempt. */
  readonly delay?: number | undefined
  /** With `reconnecting` and `closed`: what caused it. */
  readonly error?: SubwireError | undefined
  /**
   * With `closed`: `'end'` (the server ended a `oneShot` answer), `'error'` (gave up, or a fatal
   * error: see `error`), `'close'` (closed by `close()`, the signal, or the last subscriber leaving).
   */
  readonly reason?: 'end' | 'error' | 'close' | undefined
  /** With `reconnecting`: no timer runs; the next attempt waits for the page to be online, visible or shown again. */
  readonly waitingFor?: 'online' | 'visible' | 'pageshow' | undefined
  /**
   * How this subscription gets its events: `'own'` (its own connection), `'page'` (a connection
   * shared with other subscriptions of this page), `'leader'` (this tab holds the connection
   * other tabs share) or `'follower'` (another tab holds it).
   */
  readonly shared?: 'own' | 'page' | 'leader' | 'follower' | undefined
}

/** What an `'open'` listener receives. */
export interface OpenInfo {
  readonly transport: TransportName
  /** The HTTP status of the response that opened the connection (HTTP transports). */
  readonly status?: number | undefined
  /** Its response headers (HTTP transports; cross-origin, only those the server exposes). */
  readonly headers?: Headers | undefined
}

/** What a `headers` or `query` function is told about the request it provides for. */
export interface ProviderInfo {
  readonly transport: TransportName
  /** Whether this request can carry headers (fetch can; WebSocket and the native EventSource cannot). */
  readonly canSendHeaders: boolean
}

/** What a `'reset'` listener receives: the server could not resume from `lastEventId`. */
export interface ResetInfo {
  readonly transport: TransportName
  /** The id the connection asked to resume after (`''`: none). */
  readonly lastEventId: string
}

/** A value, or a function returning it (sync or async) that is called on every connect and every poll. */
export type Provider<T> = T | ((info: ProviderInfo) => T | Promise<T>)

/** A function that turns an event's raw data into what listeners receive. It may throw. */
export type Decoder = (data: string, type: string) => unknown

/** Backoff settings; every field has a default. */
export interface RetryOptions {
  /**
   * Base delay of the first retry, in ms.
   * @default 1000
   */
  initialDelay?: number
  /**
   * Upper bound of the computed delay, in ms. A server's hint may ask for more, up to one hour.
   * @default 30000
   */
  maxDelay?: number
  /**
   * Growth of the delay per failed attempt.
   * @default 2
   */
  factor?: number
  /**
   * Failed attempts in a row before giving up with the last error.
   * @default Infinity
   */
  maxAttempts?: number
  /**
   * Milliseconds of failing in a row before giving up.
   * @default Infinity
   */
  maxElapsed?: number
  /**
   * How long a connection must stay up to count as healthy (the attempt counter starts again)
   * when it delivered nothing new, in ms. One that delivers new events counts at once.
   * @default 5000
   */
  resetAfter?: number
}

/** What a {@link RetryFunction} is told besides the attempt and the error. */
export interface RetryInfo {
  /** The server's say on the delay, in ms (`Retry-After`, the SSE `retry` field, WebSocket 1012/1013), bounded to one hour. */
  readonly hint: number | undefined
  /** Milliseconds of failing in a row so far. */
  readonly elapsed: number
}

/**
 * A custom retry policy: the delay in ms before attempt `attempt` (0-based), or `false` to stop.
 * A delay is bounded to what `setTimeout` can wait; anything but a number or `false` falls back to
 * the built-in policy.
 */
export type RetryFunction = (attempt: number, error: SubwireError | undefined, info: RetryInfo) => number | false

/**
 * What to do with an HTTP status: `retry` the same transport with backoff, `fallback` to the next
 * transport, `fatal` (close the subscription), or `empty` (a poll's "nothing new yet": poll again).
 */
export type StatusAction = 'retry' | 'fallback' | 'fatal' | 'empty'

/** One event as a {@link Parse} function returns it. */
export interface ParsedEvent {
  /** The data. A string is delivered as it is; anything else as its JSON text (so `decode: 'json'` gives it back). Absent: no event, only `id`/`retry`. */
  data?: unknown
  /** The event type; `'message'` when absent. */
  type?: string | undefined
  /** The event's id: the resume point moves to it. */
  id?: string | number | undefined
  /** The server's reconnect delay, in ms. */
  retry?: number | undefined
}

/** What a {@link Parse} function is told about the text it reads. */
export interface ParseInfo {
  readonly transport: TransportName
  /** The response status (polling transports). */
  readonly status?: number | undefined
  /** The response headers (polling transports), e.g. to read a cursor from `ETag`. */
  readonly headers?: Headers | undefined
}

/**
 * Reads one WebSocket frame or one polling response body in a server's own format. Return an event,
 * an array of events (empty: nothing new), or `null`/`undefined` for a frame that only keeps the
 * connection alive. Throw for text that is not this format: it is reported as a `ProtocolError`.
 */
export type Parse = (text: string, info: ParseInfo) => ParsedEvent | ParsedEvent[] | null | undefined

/** The browser objects subwire touches. Every one can be replaced, e.g. in tests or other runtimes. */
export interface Env {
  WebSocket: typeof WebSocket | undefined
  EventSource: typeof EventSource | undefined
  fetch: typeof fetch | undefined
  /** The page URL that relative URLs resolve against and that decides what is same-origin. */
  location: string | undefined
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(id: unknown): void
  /** Milliseconds since the epoch. */
  now(): number
  /** A number in [0, 1). */
  random(): number
  /** Where page lifecycle events arrive: `online`, `offline`, `visibilitychange`, `pagehide`, `pageshow`, `freeze`. */
  window: EventTarget | undefined
  /** `navigator.onLine` (true when unknown). */
  online(): boolean
  /** Whether the page is hidden (`document.visibilityState`). */
  hidden(): boolean
  /** Where the working transport is remembered between page loads: localStorage, else an in-memory map. */
  storage: Pick<Storage, 'getItem' | 'setItem'>
  /** `navigator.locks`, to choose the tab that holds a connection shared across tabs. */
  locks: LockManager | undefined
  /** `BroadcastChannel`, to pass a shared connection's events to the other tabs. */
  BroadcastChannel: typeof BroadcastChannel | undefined
  /**
   * The HTTP version an origin was reached with (`'http/1.1'`, `'h2'`…), when the page knows it
   * (Performance API). Read by the development build only, to explain a request that waits.
   */
  httpVersion?(url: string): string | undefined
}

/**
 * One record of the `log` option: what subwire did, on which transport, and why (`error`). The
 * `type` says what happened: `connect` (an attempt starts), `proven` (it delivered an event or a
 * heartbeat), `open` (accepted and quiet, kept after its check), `remember` (stored as the
 * endpoint's transport), `check` (a second opinion on the next transport), `fallback` (to the next
 * transport), `retry` (after `delay`), `timeout`, `probe` (a better transport tried on the side),
 * `upgrade` (moving up to it), `pause` (`waitingFor` the page), `resume`, `close`.
 * Records never hold header values, query values or event data.
 */
export interface LogRecord {
  readonly type:
    | 'connect'
    | 'proven'
    | 'open'
    | 'remember'
    | 'check'
    | 'fallback'
    | 'retry'
    | 'timeout'
    | 'probe'
    | 'upgrade'
    | 'pause'
    | 'resume'
    | 'close'
    | 'share'
  /** The transport concerned. */
  readonly transport?: TransportName | undefined
  /** The delay chosen, in ms (`retry`). */
  readonly delay?: number | undefined
  /** The error that caused it. */
  readonly error?: SubwireError | undefined
  /** What a paused connection waits for (`pause`). */
  readonly waitingFor?: StateChange['waitingFor']
  /** How this tab takes part in a shared connection (`share`). */
  readonly shared?: StateChange['shared']
  /** `share`: messages from other tabs dropped so far for not following the protocol (shape, types, bounds). */
  readonly dropped?: number | undefined
  /** `connect`: the transport is the one remembered for this endpoint (from an earlier page load, or this one). */
  readonly remembered?: boolean | undefined
}
