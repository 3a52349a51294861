// How long to wait before the next attempt. `delayFor` is pure (time and randomness come in as
// arguments); `createBackoff` keeps the attempt counter and the failing-since time of one connection.
import type { SubwireError } from './errors'
import type { RetryFunction, RetryOptions } from './types'

/** The longest wait `setTimeout` can do: a larger delay fires at once. */
export const MAX_TIMER = 2147483647

/** The most a server may ask the client to wait (Retry-After, `retry:`, WebSocket 1013): one hour. */
export const MAX_HINT = 3600000

export type Policy = Required<RetryOptions>

export function policyOf(retry: RetryOptions = {}): Policy {
  const {
    initialDelay = 1000,
    maxDelay = 30000,
    factor = 2,
    maxAttempts = Infinity,
    maxElapsed = Infinity,
    resetAfter = 5000,
  } = retry
  return { initialDelay, maxDelay: Math.min(maxDelay, MAX_TIMER), factor, maxAttempts, maxElapsed, resetAfter }
}

/** A delay a server sent, in ms, bounded to [0, MAX_HINT]; `undefined` when it is not a number. */
export function bound(ms: number | undefined): number | undefined {
  return ms === undefined || ms !== ms ? undefined : Math.max(0, Math.min(ms, MAX_HINT))
}

/**
 * The delay before attempt `attempt` (0 = the first retry after things went wrong).
 *
 * - No hint: full jitter, `random × min(maxDelay, initialDelay × factor^attempt)`.
 * - A hint `H` from the server (`Retry-After`, WebSocket 1012/1013, the SSE `retry` field): a
 *   minimum. The first retry waits `H`; each failure after it grows the wait as the policy does,
 *   from `max(H, initialDelay)`, so a server saying "0" again and again gets no request storm. On
 *   top comes jitter of up to half the wait (at least 100 ms, at most `maxDelay`), so clients told
 *   the same time do not return together.
 * - `unreachable` (ms failing so far, for a server that could not be reached at all: refused,
 *   reset, no answer): from the second retry on, a quarter of the time failing so far (at least
 *   `initialDelay`, at most `maxDelay`, less up to a quarter of jitter), never below the hint. A
 *   server that comes back after an outage of D ms is reached again by about 1.25 × D + 1 s, as
 *   the browser's own EventSource (which retries at its `retry` interval) would within that.
 */
export function delayFor(policy: Policy, attempt: number, hint: number | undefined, random: () => number, unreachable?: number): number {
  const { initialDelay, maxDelay, factor } = policy
  if (attempt && unreachable !== undefined) {
    return Math.min(MAX_TIMER, Math.max(hint ?? 0, Math.round(Math.min(maxDelay, Math.max(initialDelay, unreachable / 4)) * (1 - random() / 4))))
  }
  if (hint === undefined) return Math.round(random() * Math.min(maxDelay, initialDelay * factor ** attempt))
  const wait = attempt ? Math.max(hint, Math.min(maxDelay, Math.max(hint, initialDelay) * factor ** attempt)) : hint
  return Math.min(MAX_TIMER, Math.round(wait + random() * Math.min(maxDelay, Math.max(100, wait / 2))))
}

/**
 * The delay after a connection that made progress (it delivered new events): the server's hint as
 * the native EventSource takes it (with up to an eighth on top, so clients cut together do not
 * return together), or full jitter over `initialDelay` when there is none.
 */
export function afterProgress(policy: Policy, hint: number | undefined, random: () => number): number {
  return Math.min(MAX_TIMER, Math.round(hint === undefined ? random() * policy.initialDelay : hint + (random() * hint) / 8))
}

/** A failure where nothing reached the server (refused, reset, no answer), as opposed to an answer that said no. */
export const isUnreachable = (error: SubwireError | undefined): boolean =>
  error?.kind === 'timeout' || (error?.kind === 'connection' && (error as { retryAfter?: number }).retryAfter === undefined)

/** The backoff of one connection, as a value: failures in a row, since when, and whether the last connection made progress. */
export interface Backoff {
  /** Failed attempts in a row. */
  readonly attempt: number
  /** When failing started (the end of the last healthy connection). */
  readonly since: number | undefined
  /** The connection that ended made progress: the next wait follows the server. */
  readonly fresh: boolean
}

export const BACKOFF: Backoff = { attempt: 0, since: undefined, fresh: false }

/** The connection that ended made progress: counting starts again. */
export const progress = (): Backoff => ({ attempt: 0, since: undefined, fresh: true })

/**
 * An attempt failed (`unreachable`: nothing reached the server in this failure: it was refused,
 * reset or got no answer, see `isUnreachable`). Returns the next backoff value and the delay before
 * the next attempt, or `false` to give up. `custom` is the user's retry function
 * (user code: whatever it does, its answer is only a number or `false`).
 */
export function failed(
  b: Backoff,
  policy: Policy,
  now: number,
  error: SubwireError | undefined,
  hint: number | undefined,
  unreachable: boolean,
  random: () => number,
  custom?: RetryFunction,
  report?: (error: unknown) => void,
): [Backoff, number | false] {
  const since = b.since ?? now
  const elapsed = now - since
  let delay: unknown
  if (custom) {
    try {
      delay = custom(b.attempt, error, { hint, elapsed })
    } catch (thrown) {
      report?.(thrown)
    }
    if (delay === false) return [b, false]
  }
  if (typeof delay !== 'number' || delay !== delay) {
    if (b.attempt >= policy.maxAttempts || elapsed >= policy.maxElapsed) return [b, false]
    delay = b.fresh ? afterProgress(policy, hint, random) : delayFor(policy, b.attempt, hint, random, unreachable ? elapsed : undefined)
  }
  return [{ attempt: b.attempt + 1, since, fresh: false }, Math.max(0, Math.min(delay as number, MAX_TIMER))]
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP-date), bounded to one hour; `undefined` when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  if (/^\s*\d+\s*$/.test(value)) return bound(Number(value) * 1000)
  const date = Date.parse(value)
  return date === date ? bound(date - now) : undefined
}
