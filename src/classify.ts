// Pure: after a transport closed, what happens next. One function for every failure.
import { HttpError, type SubwireError } from './errors'

/** `retry`: same transport again after a delay. `fallback`: the next transport. `fatal`: close the subscription. */
export type Decision = 'retry' | 'fallback' | 'fatal'

/**
 * @param error what closed the transport (`undefined`: the server ended the stream cleanly)
 * @param proven whether this transport delivered anything (an event or a heartbeat) on this connection
 */
export function classify(error: SubwireError | undefined, proven: boolean): Decision {
  if (!error) return 'retry'
  if (error instanceof HttpError) {
    // spec (SSE): a 204 No Content response means the server wants the client to stop. 401 and
    // 403 are fatal here; the subscription first retries them once with fresh headers and query.
    if (error.status === 204 || error.status === 401 || error.status === 403) return 'fatal'
    if (error.retryable) return 'retry'
    // 400, 404, 405, 410…: this transport's endpoint is wrong or missing; another may work.
    return 'fallback'
  }
  if (error.kind === 'decode' || error.kind === 'overflow') return 'retry'
  // A proxy buffers the stream: a streaming transport will not do here, whatever it delivered.
  if (error.kind === 'buffered') return 'fallback'
  if (!error.retryable) return 'fallback'
  // A transport that never delivered anything is suspect (blocked upgrade, buffering proxy).
  return proven ? 'retry' : 'fallback'
}
