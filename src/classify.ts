// After a transport closed, what happens next. One function for every failure.
import { HttpError, type SubwireError } from './errors'
import type { StatusAction } from './types'

/** `retry`: same transport again after a delay. `fallback`: the next transport. `fatal`: close the subscription. */
export type Decision = 'retry' | 'fallback' | 'fatal'

/**
 * @param error what closed the transport (`undefined`: the server ended it cleanly)
 * @param proven whether this connection proved itself (an event, a heartbeat, an answered poll, or
 *   accepted and kept after its check)
 * @param statuses the subscription's own say per HTTP status (the `statuses` option)
 */
export function classify(
  error: SubwireError | undefined,
  proven: boolean,
  statuses: Partial<Record<number, StatusAction>> = {},
): Decision {
  // A clean end after the connection worked is the server's normal "reconnect"; before it ever
  // worked (an empty 200, a WebSocket closed cleanly before any byte) the transport is suspect.
  if (!error) return proven ? 'retry' : 'fallback'
  if (error instanceof HttpError) {
    const own = statuses[error.status]
    if (own) return own === 'empty' ? 'retry' : own
    // spec (SSE): a 204 No Content response means the server wants the client to stop. 401 and
    // 403 are fatal here; the subscription first retries them once with fresh headers and query.
    if (error.status === 204 || error.status === 401 || error.status === 403) return 'fatal'
    if (error.retryable) return 'retry'
    // 400, 404, 405, 410…: this transport's endpoint is wrong or missing; another may work.
    return 'fallback'
  }
  // The options cannot work here, whatever the transport: nothing to retry.
  if (error.kind === 'config') return 'fatal'
  // Your headers/query provider failed (a token service down): no transport's fault; try again.
  if (error.kind === 'provider' || error.kind === 'decode' || error.kind === 'overflow') return 'retry'
  // A proxy buffers the stream: a streaming transport will not do here, whatever it delivered.
  if (error.kind === 'buffered') return 'fallback'
  if (!error.retryable) return 'fallback'
  // A transport that never proved itself is suspect (blocked upgrade, a proxy, a wrong endpoint).
  return proven ? 'retry' : 'fallback'
}
