import { say, type Code, type Said } from './text'
import type { TransportName } from './types'

/**
 * What kind of failure an error is; `SubwireError.kind` carries it for `switch` statements.
 * `overflow` (an async iterator fell more than `bufferSize` behind), `unsupported` (no transport
 * can run here), `buffered` (a proxy holds the stream back and releases it in bursts), `config`
 * (the options or the URL cannot work; thrown by `subscribe()`) and `provider` (your `headers`,
 * `query` or `handshake` function failed) are plain `SubwireError`s; the others have their own class.
 */
export type ErrorKind =
  | 'http'
  | 'connection'
  | 'timeout'
  | 'protocol'
  | 'decode'
  | 'overflow'
  | 'unsupported'
  | 'buffered'
  | 'config'
  | 'provider'

/** A stable code per cause (docs/errors.md explains each); an error made with a plain message has its kind as code. */
export type ErrorCode = Code | ErrorKind

/**
 * The base of every error subwire reports. `code` is stable (docs/errors.md explains each);
 * `retryable` says whether the transport that reported it may work when tried again as it is
 * (`false`: subwire moves on to the next transport, or closes on a fatal error); `transport` names the
 * transport it happened on, when there was one. The development build writes the whole text with
 * the likely fix into `message`; the production build the code and where it is explained.
 */
export class SubwireError extends Error {
  override name = 'SubwireError'
  readonly kind: ErrorKind
  readonly code: ErrorCode
  readonly transport: TransportName | undefined
  readonly retryable: boolean
  /** `message`: a plain text (a transport of your own), or subwire's own code and text. */
  constructor(kind: ErrorKind, message: string | Said, transport: TransportName | undefined, retryable: boolean, cause?: unknown) {
    const [code, text] = typeof message === 'string' ? [kind, message] : message
    // The message names the transport first: "websocket: closed with code 1006".
    super(transport ? `${transport}: ${text}` : text, cause === undefined ? undefined : { cause })
    this.kind = kind
    this.code = code
    this.transport = transport
    this.retryable = retryable
  }
}

/** The server answered with a status that is not a success. */
export class HttpError extends SubwireError {
  override readonly name = 'HttpError'
  /** The HTTP status code. */
  readonly status: number
  /** The server's `Retry-After`, in milliseconds (at most one hour), when it sent one. */
  readonly retryAfter: number | undefined
  constructor(status: number, transport: TransportName, retryAfter?: number) {
    super('http', say('http', status), transport, status === 408 || status === 425 || status === 429 || status >= 500)
    this.status = status
    this.retryAfter = retryAfter
  }
}

/** The connection failed or dropped: network error, refused upgrade, WebSocket close. */
export class ConnectionError extends SubwireError {
  override readonly name = 'ConnectionError'
  /** The WebSocket close code, when the connection was a WebSocket. */
  readonly closeCode: number | undefined
  /** The server's say on the next delay, in ms (WebSocket close codes 1012 and 1013), at most one hour. */
  readonly retryAfter: number | undefined
  constructor(message: string | Said, transport: TransportName, closeCode?: number, cause?: unknown, retryAfter?: number) {
    super('connection', message, transport, true, cause)
    this.closeCode = closeCode
    this.retryAfter = retryAfter
  }
}

/** What a transport caught, as a typed error: subwire's own as it is, anything else a network failure. */
export function toError(error: unknown, transport: TransportName): SubwireError {
  return error instanceof SubwireError ? error : new ConnectionError(say('network'), transport, undefined, error)
}

/** Nothing arrived in time: connect timeout, long-poll timeout, heartbeat timeout. */
export class TimeoutError extends SubwireError {
  override readonly name = 'TimeoutError'
  /** `retryable: false`: this transport is starved here (another delivered meanwhile), so fall back. */
  constructor(message: string | Said, transport: TransportName, retryable = true) {
    super('timeout', message, transport, retryable)
  }
}

/** The server sent something that is not the protocol: wrong content type, malformed frame, over-size event, a bad id. */
export class ProtocolError extends SubwireError {
  override readonly name = 'ProtocolError'
  constructor(message: string | Said, transport: TransportName, retryable = true, cause?: unknown) {
    super('protocol', message, transport, retryable, cause)
  }
}

/** The `decode` option failed on an event's data; the event is skipped, the stream goes on. */
export class DecodeError extends SubwireError {
  override readonly name = 'DecodeError'
  /** The raw data that could not be decoded. */
  readonly data: string
  constructor(data: string, transport: TransportName, cause: unknown) {
    super('decode', say('decode', cause), transport, true, cause)
    this.data = data
  }
}
