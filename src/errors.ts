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

/**
 * The base of every error subwire reports. `retryable` says whether subwire itself goes on
 * trying after it; `transport` names the transport it happened on, when there was one.
 */
export class SubwireError extends Error {
  override name = 'SubwireError'
  readonly kind: ErrorKind
  readonly transport: TransportName | undefined
  readonly retryable: boolean
  constructor(kind: ErrorKind, message: string, transport: TransportName | undefined, retryable: boolean, cause?: unknown) {
    // The message names the transport first: "websocket: closed with code 1006".
    super(transport ? `${transport}: ${message}` : message, cause === undefined ? undefined : { cause })
    this.kind = kind
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
    super('http', `HTTP ${status}${fix(status)}`, transport, status === 408 || status === 425 || status === 429 || status >= 500)
    this.status = status
    this.retryAfter = retryAfter
  }
}

function fix(status: number): string {
  return status === 204
    ? ' (the server said stop)'
    : status === 401 || status === 403
      ? ' (check the token in headers or query)'
      : status === 400 || status === 404 || status === 405 || status === 410
        ? ' (no stream here: check url, give this transport its own with urls, or leave it out of transports)'
        : status === 429 || status === 503
          ? ' (the server is busy; subwire waits as Retry-After says)'
          : status >= 500
            ? ' (server error; subwire retries with backoff)'
            : ''
}

/** The connection failed or dropped: network error, refused upgrade, WebSocket close. */
export class ConnectionError extends SubwireError {
  override readonly name = 'ConnectionError'
  /** The WebSocket close code, when the connection was a WebSocket. */
  readonly code: number | undefined
  /** The server's say on the next delay, in ms (WebSocket close codes 1012 and 1013), at most one hour. */
  readonly retryAfter: number | undefined
  constructor(message: string, transport: TransportName, code?: number, cause?: unknown, retryAfter?: number) {
    super('connection', message, transport, true, cause)
    this.code = code
    this.retryAfter = retryAfter
  }
}

/** Nothing arrived in time: connect timeout, long-poll timeout, heartbeat timeout. */
export class TimeoutError extends SubwireError {
  override readonly name = 'TimeoutError'
  /** `retryable: false`: this transport is starved here (another delivered meanwhile), so fall back. */
  constructor(message: string, transport: TransportName, retryable = true) {
    super('timeout', message, transport, retryable)
  }
}

/** The server sent something that is not the protocol: wrong content type, malformed frame, over-size event, a bad id. */
export class ProtocolError extends SubwireError {
  override readonly name = 'ProtocolError'
  constructor(message: string, transport: TransportName, retryable = true, cause?: unknown) {
    super('protocol', message, transport, retryable, cause)
  }
}

/** The `decode` option failed on an event's data; the event is skipped, the stream goes on. */
export class DecodeError extends SubwireError {
  override readonly name = 'DecodeError'
  /** The raw data that could not be decoded. */
  readonly data: string
  constructor(data: string, transport: TransportName, cause: unknown) {
    super('decode', `event skipped, decode failed: ${cause} (check the decode option against what the server sends)`, transport, true, cause)
    this.data = data
  }
}
