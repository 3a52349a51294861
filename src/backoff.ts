// Pure: how long to wait before the next attempt. Time and randomness come in as arguments.
import type { SubwireError } from './errors'
import type { RetryFunction, RetryOptions } from './types'

export interface Policy {
  initialDelay: number
  maxDelay: number
  factor: number
  maxAttempts: number
  maxElapsed: number
  resetAfter: number
}

export function policyOf(retry: RetryOptions = {}): Policy {
  const {
    initialDelay = 1000,
    maxDelay = 30000,
    factor = 2,
    maxAttempts = Infinity,
    maxElapsed = Infinity,
    resetAfter = 5000,
  } = retry
  return { initialDelay, maxDelay, factor, maxAttempts, maxElapsed, resetAfter }
}

/**
 * The delay before attempt `attempt` (0 = the first retry), or `false` to give up.
 *
 * - No hint: full jitter, `random × min(maxDelay, base × factor^attempt)`, where `base` is the
 *   server's SSE `retry` value when it sent one, else `initialDelay`.
 * - A one-shot hint (`Retry-After`, WebSocket 1013 reason): the hint plus up to half of it (at
 *   least 100 ms, at most `maxDelay`) of jitter, so clients told the same time do not return together.
 */
export function nextDelay(
  policy: Policy,
  custom: RetryFunction | undefined,
  attempt: number,
  elapsed: number,
  error: SubwireError | undefined,
  retryField: number | undefined,
  hint: number | undefined,
  random: () => number,
): number | false {
  if (custom) return custom(attempt, error)
  if (attempt >= policy.maxAttempts || elapsed >= policy.maxElapsed) return false
  if (hint !== undefined) return Math.round(hint + random() * Math.min(policy.maxDelay, Math.max(100, hint / 2)))
  const base = retryField ?? policy.initialDelay
  const cap = Math.max(Math.min(policy.maxDelay, base * policy.factor ** attempt), retryField === undefined ? 0 : base)
  return retryField === undefined ? Math.round(random() * cap) : Math.round(cap + random() * Math.min(policy.maxDelay, Math.max(100, cap / 2)))
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP-date; `undefined` when absent or invalid. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  if (/^\s*\d+\s*$/.test(value)) return parseInt(value, 10) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
