import type { TransportName } from './types'

/**
 * What kind of failure an error is; `SubwireError.kind` carries it for `switch` statements.
 * `overflow` (an async iterator fell more than `bufferSize` behind) and `unsupported` (no
 * transport can run here) are plain `SubwireError`s; the others have their own class.
 */
export type ErrorKind = 'http' | 'connection' | 'timeout' | 'protocol' | 'decode' | 'overflow' | 'unsupported'

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
    super(message, cause === undefined ? undefined : { cause })
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
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfter: number | undefined
  constructor(status: number, transport: TransportName, retryAfter?: number) {
    super('http', `${transport}: HTTP ${status}${hint(status)}`, transport, status === 408 || status === 425 || status === 429 || status >= 500)
    this.status = status
    this.retryAfter = retryAfter
  }
}

function hint(status: number): string {
  return status === 204
    ? ' (server said stop)'
    : status === 401 || status === 403
      ? ' (check the token in the headers or query option)'
      : status === 404
        ? ' (no stream here; check url or urls)'
        : ''
}

/** The connection failed or dropped: network error, refused upgrade, WebSocket close. */
export class ConnectionError extends SubwireError {
  override readonly name = 'ConnectionError'
  /** The WebSocket close code, when the connection was a WebSocket. */
  readonly code: number | undefined
  /** The server's say on the next delay, in ms (WebSocket close codes 1012 and 1013). */
  readonly retryAfter: number | undefined
  constructor(message: string, transport: TransportName, code?: number, cause?: unknown, retryAfter?: number) {
    super('connection', `${transport}: ${message}`, transport, true, cause)
    this.code = code
    this.retryAfter = retryAfter
  }
}

/** Nothing arrived in time: connect timeout, long-poll timeout, heartbeat timeout. */
export class TimeoutError extends SubwireError {
  override readonly name = 'TimeoutError'
  constructor(message: string, transport: TransportName) {
    super('timeout', `${transport}: ${message}`, transport, true)
  }
}

/** The server sent something that is not the protocol: wrong content type, malformed JSON frame, over-size event. */
export class ProtocolError extends SubwireError {
  override readonly name = 'ProtocolError'
  constructor(message: string, transport: TransportName, retryable = true, cause?: unknown) {
    super('protocol', `${transport}: ${message}`, transport, retryable, cause)
  }
}

/** The `decode` option failed on an event's data; the event is skipped, the stream goes on. */
export class DecodeError extends SubwireError {
  override readonly name = 'DecodeError'
  /** The raw data that could not be decoded. */
  readonly data: string
  constructor(data: string, transport: TransportName, cause: unknown) {
    super('decode', `${transport}: event skipped, decode failed: ${cause}`, transport, true, cause)
    this.data = data
  }
}

