import { describe, expect, it } from 'vitest'
import { BACKOFF, MAX_HINT, MAX_TIMER, bound, delayFor, failed, isUnreachable, parseRetryAfter, policyOf, progress, type Policy } from '../../src/backoff'
import type { RetryFunction } from '../../src/index'
import { classify } from '../../src/classify'
import { ConnectionError, DecodeError, HttpError, ProtocolError, SubwireError, TimeoutError } from '../../src/errors'

const policy = policyOf({ initialDelay: 1000, maxDelay: 30000, factor: 2 })
const top = () => 0.999999
const bottom = () => 0

describe('delayFor', () => {
  it('grows exponentially with full jitter and stops at maxDelay', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => delayFor(policy, a, undefined, top))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
    expect([0, 3, 7].map((a) => delayFor(policy, a, undefined, bottom))).toEqual([0, 0, 0])
  })

  it('keeps every jittered delay inside [0, cap]', () => {
    let seed = 1
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(30000, 1000 * 2 ** attempt)
      for (let k = 0; k < 200; k++) {
        const d = delayFor(policy, attempt, undefined, random)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(cap)
      }
    }
  })

  it("takes a server's hint as the minimum of the first retry, with jitter on top", () => {
    expect(delayFor(policy, 0, 5000, bottom)).toBe(5000)
    expect(delayFor(policy, 0, 5000, () => 1)).toBe(7500)
    // A hint above maxDelay is honoured (it is bounded to one hour where it is read).
    expect(delayFor(policy, 3, 60000, bottom)).toBe(60000)
  })

  it('grows a repeated hint as the policy does, so "0" or "1 s" again and again makes no storm', () => {
    // Retry-After: 0, retry: 0, an HTTP date in the past: the first retry is quick, then it grows.
    expect([0, 1, 2, 3, 4, 5].map((a) => delayFor(policy, a, 0, bottom))).toEqual([0, 2000, 4000, 8000, 16000, 30000])
    // WebSocket 1012 (about a second), repeated.
    expect([0, 1, 2, 3].map((a) => delayFor(policy, a, 1000, bottom))).toEqual([1000, 2000, 4000, 8000])
    // A 5 s hint grows from 5 s.
    expect(delayFor(policy, 1, 5000, bottom)).toBe(10000)
    // Jitter on top of a zero hint: at least 100 ms of spread.
    expect(delayFor(policy, 0, 0, () => 1)).toBe(100)
  })

  it('never returns more than setTimeout can wait', () => {
    expect(delayFor(policyOf({ maxDelay: MAX_TIMER }), 0, MAX_HINT, () => 1)).toBeLessThanOrEqual(MAX_TIMER)
    expect(delayFor(policy, 1000, undefined, top)).toBe(30000)
  })
})

describe('bound', () => {
  it.each([
    [0, 0],
    [-5, 0],
    [2500, 2500],
    [1e12, MAX_HINT],
    [Infinity, MAX_HINT],
    [Number('9'.repeat(400)), MAX_HINT],
    [NaN, undefined],
  ])('bounds a server delay of %s to %s', (input, output) => {
    expect(bound(input)).toBe(output)
  })
})

/** The pure backoff value threaded through failures, as the state machine does. */
function tracker(policy: Policy, random: () => number, custom?: RetryFunction, report?: (e: unknown) => void) {
  let b = BACKOFF
  return {
    get attempt() {
      return b.attempt
    },
    progress() {
      b = progress()
    },
    /** `refused`: the attempt was never accepted (the machine passes `unreachable` for such an attempt's unreachable error). */
    failed(now: number, error: SubwireError | undefined, hint: number | undefined, refused = false) {
      const [next, delay] = failed(b, policy, now, error, hint, refused && isUnreachable(error), random, custom, report)
      b = next
      return delay
    },
  }
}

describe('the backoff value', () => {
  const error = new HttpError(503, 'longpoll')
  const unreachable = new ConnectionError('refused', 'eventsource')

  it('counts failures, gives up after maxAttempts or maxElapsed, and starts again after progress', () => {
    const backoff = tracker(policyOf({ maxAttempts: 3, maxElapsed: 10000 }), bottom)
    expect([backoff.failed(0, error, undefined), backoff.failed(10, error, undefined), backoff.failed(20, error, undefined)]).toEqual([0, 0, 0])
    expect(backoff.attempt).toBe(3)
    expect(backoff.failed(30, error, undefined)).toBe(false)
    // A connection that made progress ends: the count starts again.
    backoff.progress()
    expect(backoff.attempt).toBe(0)
    const elapsed = tracker(policyOf({ maxElapsed: 10000 }), bottom)
    expect(elapsed.failed(0, error, undefined)).toBe(0)
    expect(elapsed.failed(10000, error, undefined)).toBe(false)
  })

  it("after progress follows the server's retry as the native EventSource does (an eighth of jitter on top), then climbs", () => {
    const backoff = tracker(policy, top)
    backoff.progress()
    expect(backoff.failed(0, undefined, 1000)).toBe(1125)
    // Nothing new since: the second failure in a row grows.
    expect(backoff.failed(1200, undefined, 1000)).toBe(3000)
    backoff.progress()
    expect(backoff.failed(5000, undefined, 0)).toBe(0)
    backoff.progress()
    // No hint: full jitter over initialDelay.
    expect(backoff.failed(6000, undefined, undefined)).toBe(1000)
  })

  it('retries an unreachable server at a quarter of the time failing so far: back within 1.25 × the outage + 1 s', () => {
    const backoff = tracker(policy, bottom)
    backoff.progress()
    let now = 0
    const times: number[] = []
    for (let i = 0; i < 12; i++) {
      now += backoff.failed(now, unreachable, 50, true) as number
      times.push(now)
    }
    // However long the outage, the next attempt after it ends comes within 1.25 × the outage + 1 s.
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeLessThanOrEqual(1.25 * times[i - 1]! + 1000)
    expect(times.slice(0, 6)).toEqual([50, 1050, 2050, 3050, 4050, 5063])
    // Never more than about one attempt a second.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(750)
  })

  it('applies maxAttempts to hinted failures too (Retry-After: 0 included)', () => {
    const backoff = tracker(policyOf({ maxAttempts: 2 }), bottom)
    expect(backoff.failed(0, error, 0)).toBe(0)
    expect(backoff.failed(1, error, 0)).toBe(2000)
    expect(backoff.failed(2, error, 0)).toBe(false)
  })

  it('asks a custom function, telling it the hint and the time spent failing, and bounds its answer', () => {
    const seen: unknown[] = []
    const backoff = tracker(policy, bottom, (attempt, e, info) => (seen.push([attempt, e, info]), attempt < 2 ? attempt * 1e12 : false))
    expect(backoff.failed(100, error, 3000)).toBe(0)
    expect(backoff.failed(600, error, undefined)).toBe(MAX_TIMER)
    expect(backoff.failed(900, error, undefined)).toBe(false)
    expect(seen).toEqual([
      [0, error, { hint: 3000, elapsed: 0 }],
      [1, error, { hint: undefined, elapsed: 500 }],
      [2, error, { hint: undefined, elapsed: 800 }],
    ])
  })

  it('falls back to the policy when the custom function throws or answers something else than a delay', () => {
    const reported: unknown[] = []
    const throwing = tracker(
      policy,
      top,
      () => {
        throw new Error('bug')
      },
      (e) => reported.push(e),
    )
    expect(throwing.failed(0, error, undefined)).toBe(1000)
    expect(reported).toHaveLength(1)
    const nan = tracker(policy, top, () => NaN)
    expect(nan.failed(0, error, undefined)).toBe(1000)
    const negative = tracker(policy, top, () => -50)
    expect(negative.failed(0, error, undefined)).toBe(0)
  })
})

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates', () => {
    const now = Date.parse('Sun, 22 Nov 2026 10:00:00 GMT')
    expect(parseRetryAfter('120', now)).toBe(120000)
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30000)
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0)
    // Bounded to one hour: a huge value never overflows setTimeout.
    expect(parseRetryAfter('3000000', now)).toBe(MAX_HINT)
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(MAX_HINT)
    expect(parseRetryAfter('Sun, 22 Nov 2099 10:00:30 GMT', now)).toBe(MAX_HINT)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe('classify', () => {
  it.each([
    ['a clean end of stream after the connection worked', undefined, true, 'retry'],
    ['a clean end before it ever worked (an empty 200, a WebSocket closed before any byte)', undefined, false, 'fallback'],
    ['a provider failure (a token service down), never a transport failure', new SubwireError('provider', 'down', 'eventsource', true), false, 'retry'],
    ['a configuration that cannot work', new SubwireError('config', 'bad', 'eventsource', false), false, 'fatal'],
    ['204 from the server (stop)', new HttpError(204, 'eventsource'), true, 'fatal'],
    ['401', new HttpError(401, 'longpoll'), false, 'fatal'],
    ['403', new HttpError(403, 'poll'), false, 'fatal'],
    ['404', new HttpError(404, 'eventsource'), false, 'fallback'],
    ['400', new HttpError(400, 'eventsource'), false, 'fallback'],
    ['429', new HttpError(429, 'poll'), false, 'retry'],
    ['503', new HttpError(503, 'longpoll'), false, 'retry'],
    ['500', new HttpError(500, 'longpoll'), true, 'retry'],
    ['a wrong content type', new ProtocolError('wrong type', 'eventsource', false), false, 'fallback'],
    ['a refused upgrade before anything arrived', new ConnectionError('refused', 'websocket', 1006), false, 'fallback'],
    ['a drop after the connection proved itself', new ConnectionError('dropped', 'websocket', 1006), true, 'retry'],
    ['a connect timeout (silent transport)', new TimeoutError('silent', 'websocket'), false, 'fallback'],
    ['starved (another transport delivered meanwhile), even after it was trusted', new TimeoutError('starved', 'eventsource', false), true, 'fallback'],
    ['a heartbeat timeout on a proven connection', new TimeoutError('silent', 'eventsource'), true, 'retry'],
    ['a decode failure', new DecodeError('x', 'poll', new Error('bad')), true, 'retry'],
    ['a buffering proxy, even on a proven stream', new SubwireError('buffered', 'bursts', 'eventsource', true), true, 'fallback'],
  ] as const)('%s → %s', (_name, error, proven, decision) => {
    expect(classify(error, proven)).toBe(decision)
  })

  it('lets the statuses option decide per status', () => {
    expect(classify(new HttpError(410, 'longpoll'), true, { 410: 'retry' })).toBe('retry')
    expect(classify(new HttpError(500, 'longpoll'), true, { 500: 'fatal' })).toBe('fatal')
    expect(classify(new HttpError(408, 'longpoll'), true, { 408: 'empty' })).toBe('retry')
    expect(classify(new HttpError(404, 'longpoll'), true, {})).toBe('fallback')
  })
})
