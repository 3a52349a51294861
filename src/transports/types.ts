// The one contract between the subscription and every transport. A transport opens, reports what
// it receives, and closes exactly once with a reason. It knows nothing of backoff or fallback.
import type { EventSourceMessage } from '../parser'
import type { SubwireError } from '../errors'
import type { Env, TransportName } from '../types'

/** What a transport gets for one connection attempt. */
export interface TransportContext {
  readonly name: TransportName
  readonly env: Env
  /** The URL for this transport, with the transport name and the `query` provider applied. */
  url(): Promise<string>
  /** The `headers` provider's result (called again on every call). */
  headers(): Promise<Record<string, string>>
  /** The resume point now (moves while the transport runs). */
  lastEventId(): string
  readonly lastEventIdParam: string
  readonly withCredentials: boolean
  readonly maxEventSize: number
  readonly pollInterval: number
  readonly longPollTimeout: number
  readonly eventsource: 'auto' | 'fetch' | 'native'
  /** Event types that have listeners (native EventSource must subscribe to each by name). */
  readonly types: () => Iterable<string>
}

/** Where a transport reports. Calls after `close` are ignored by the subscription. */
export interface TransportSink {
  /** The connection is established. */
  open(): void
  /** Bytes arrived (an event, a comment, a frame, an empty poll): the connection is alive. */
  activity(): void
  event(message: EventSourceMessage): void
  /** The resume point moved without an event (an id-only block). */
  id(lastEventId: string): void
  /** The server's `retry` field, in ms. */
  retry(ms: number): void
  /** A problem that does not end the connection (a malformed frame, an over-size event). */
  warn(error: SubwireError): void
  /** The connection ended: `undefined` when the server ended it cleanly. Called at most once. */
  close(error?: SubwireError): void
}

export interface TransportHandle {
  /** Stop at once, without reporting: idempotent. */
  close(): void
  /** A listener for this event type was added (only native EventSource needs to know). */
  listen?(type: string): void
}

export type Transport = (context: TransportContext, sink: TransportSink) => TransportHandle
