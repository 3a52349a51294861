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
  /** With `reconnecting`: no timer runs; the next attempt waits for the page to be online, visible or shown again. */
  readonly waitingFor?: 'online' | 'visible' | 'pageshow' | undefined
}

/** A value, or a function returning it (sync or async) that is called on every connect and every poll. */
export type Provider<T> = T | (() => T | Promise<T>)

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
   * Upper bound of the computed delay, in ms (server hints may exceed it).
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
   * How long a connection must stay up before the attempt counter starts again from zero, in ms.
   * @default 5000
   */
  resetAfter?: number
}

/** A custom retry policy: the delay in ms before attempt `attempt` (0-based), or `false` to stop. */
export type RetryFunction = (attempt: number, error: SubwireError | undefined) => number | false

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
  /** Where page lifecycle events arrive: `online`, `offline`, `visibilitychange`, `pagehide`, `pageshow`. */
  window: EventTarget | undefined
  /** `navigator.onLine` (true when unknown). */
  online(): boolean
  /** Whether the page is hidden (`document.visibilityState`). */
  hidden(): boolean
  /** Where the working transport is remembered between page loads: localStorage, else an in-memory map. */
  storage: Pick<Storage, 'getItem' | 'setItem'>
}
