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
 */
export function delayFor(policy: Policy, attempt: number, hint: number | undefined, random: () => number): number {
  const { initialDelay, maxDelay, factor } = policy
  if (hint === undefined) return Math.round(random() * Math.min(maxDelay, initialDelay * factor ** attempt))
  const wait = attempt ? Math.max(hint, Math.min(maxDelay, Math.max(hint, initialDelay) * factor ** attempt)) : hint
  return Math.min(MAX_TIMER, Math.round(wait + random() * Math.min(maxDelay, Math.max(100, wait / 2))))
}

export interface Backoff {
  /** Failed attempts in a row. */
  readonly attempt: number
  /** A connection that was healthy since `since` ended at `now`: start counting again if it lasted `resetAfter`. */
  healthy(since: number, now: number): void
  /** An attempt failed: the delay before the next one, or `false` to give up. */
  failed(now: number, error: SubwireError | undefined, hint: number | undefined): number | false
}

export function createBackoff(
  policy: Policy,
  custom: RetryFunction | undefined,
  random: () => number,
  report: (error: unknown) => void,
): Backoff {
  let attempt = 0
  let failingSince: number | undefined
  return {
    get attempt() {
      return attempt
    },
    healthy(since, now) {
      if (now - since >= policy.resetAfter) {
        attempt = 0
        failingSince = undefined
      }
    },
    failed(now, error, hint) {
      failingSince ??= now
      const elapsed = now - failingSince
      let delay: unknown
      if (custom) {
        try {
          delay = custom(attempt, error, { hint, elapsed })
        } catch (thrown) {
          report(thrown)
        }
        if (delay === false) return false
      }
      if (typeof delay !== 'number' || delay !== delay) {
        if (attempt >= policy.maxAttempts || elapsed >= policy.maxElapsed) return false
        delay = delayFor(policy, attempt, hint, random)
      }
      attempt++
      return Math.max(0, Math.min(delay as number, MAX_TIMER))
    },
  }
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP-date), bounded to one hour; `undefined` when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  if (/^\s*\d+\s*$/.test(value)) return bound(Number(value) * 1000)
  const date = Date.parse(value)
  return date === date ? bound(date - now) : undefined
}
