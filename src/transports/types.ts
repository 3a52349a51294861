// The one contract between a connection and every transport. A transport opens, reports what it
// receives, and closes exactly once with a reason. It knows nothing of backoff or fallback.
import type { EventSourceMessage } from '../parser'
import type { SubwireError } from '../errors'
import type { Resolved } from '../options'
import type { Env, TransportName } from '../types'

/** What a transport gets for one connection attempt. */
export interface TransportContext {
  readonly name: TransportName
  readonly env: Env
  /** The subscription's options, defaults applied. */
  readonly options: Resolved
  /** The URL of this transport on the node in use, as given (before query parameters). */
  readonly target: string
  /**
   * The URL for this transport on the node in use, with `?transport=` (polls only), the `query`
   * provider's parameters and, when `withId`, the resume id as `lastEventIdParam`. `canSendHeaders` tells
   * the provider whether this request can carry headers, when the transport knows better than
   * its options (a fetch stream that turned to the native EventSource). Rejects with a
   * `provider` error when the `query` provider fails.
   */
  url(withId: boolean, canSendHeaders?: boolean): Promise<string>
  /** The `headers` provider's result (called again on every call); rejects with a `provider` error when it fails. */
  headers(): Promise<Record<string, string>>
  /** The `body` provider's result (called again on every call); rejects with a `provider` error when it fails. */
  body(): Promise<BodyInit | undefined>
  /** The resume point now (moves while the transport runs). */
  lastEventId(): string
  /** Event types that have listeners (native EventSource must subscribe to each by name). */
  types(): Iterable<string>
}

/** What a transport learned from the response that opened it. */
export interface OpenDetails {
  status?: number
  headers?: Headers
  /** Acceptance is all this transport can show (native EventSource: heartbeats are invisible to it). */
  proven?: boolean
}

/** Where a transport reports. Calls after `close` (or after the handle was closed) are ignored. */
export interface TransportSink {
  /** The server accepted the connection (WebSocket open; an HTTP 200 of the right type): provisional proof. */
  open(details?: OpenDetails): void
  /** A heartbeat: a comment, a block without data, a heartbeat event, an answered poll. Proves the transport. */
  heartbeat(): void
  /** Bytes arrived: the connection is alive (proves nothing by itself). */
  activity(): void
  /** An event. Proves the transport. */
  event(message: EventSourceMessage): void
  /** The resume point moved without an event (an id-only block). Proves the transport. */
  id(lastEventId: string): void
  /** The server's `retry` field, in ms (already bounded). */
  retry(ms: number): void
  /** A problem that does not end the connection (a malformed frame, an over-size event, a bad id). */
  warn(error: SubwireError): void
  /** The connection ended: `undefined` when the server ended it cleanly. Called at most once. */
  close(error?: SubwireError): void
}

export interface TransportHandle {
  /** Stop at once, without reporting: idempotent. */
  close(): void
  /** A listener for this event type was added (only native EventSource needs to know). */
  listen?(type: string): void
  /** How long this connection may take to prove itself, in ms, when not `connectTimeout` (a long poll holds). */
  readonly proofTimeout?: number | undefined
  /** It asks again and again (long poll, poll), each request with its own deadline: no heartbeat to watch. */
  readonly polls?: boolean
}

/** A transport: given its context and sink, it connects and returns its handle. */
export interface Transport {
  (context: TransportContext, sink: TransportSink): TransportHandle
  /** An eventsource transport over the native EventSource only (`nativeEventSource`): it sends no headers and no body. */
  readonly native?: true
}
