import { describe, expect, it } from 'vitest'
import { nextDelay, parseRetryAfter, policyOf } from '../../src/backoff'
import { classify } from '../../src/classify'
import { ConnectionError, DecodeError, HttpError, ProtocolError, SubwireError, TimeoutError } from '../../src/errors'

const policy = policyOf({ initialDelay: 1000, maxDelay: 30000, factor: 2 })

describe('nextDelay', () => {
  it('grows exponentially with full jitter and stops at maxDelay', () => {
    const top = [0, 1, 2, 3, 4, 5, 6, 7].map((a) => nextDelay(policy, undefined, a, 0, undefined, undefined, undefined, () => 0.999999))
    expect(top).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
    const bottom = [0, 3, 7].map((a) => nextDelay(policy, undefined, a, 0, undefined, undefined, undefined, () => 0))
    expect(bottom).toEqual([0, 0, 0])
  })

  it('keeps every jittered delay inside [0, cap]', () => {
    let seed = 1
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(30000, 1000 * 2 ** attempt)
      for (let k = 0; k < 200; k++) {
        const d = nextDelay(policy, undefined, attempt, 0, undefined, undefined, undefined, random) as number
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThanOrEqual(cap)
      }
    }
  })

  it('takes the SSE retry field as the base, with jitter on top', () => {
    expect(nextDelay(policy, undefined, 0, 0, undefined, 5000, undefined, () => 0)).toBe(5000)
    expect(nextDelay(policy, undefined, 0, 0, undefined, 5000, undefined, () => 1)).toBe(7500)
    expect(nextDelay(policy, undefined, 1, 0, undefined, 5000, undefined, () => 0)).toBe(10000)
    // A retry above maxDelay is honoured: the server knows best.
    expect(nextDelay(policy, undefined, 3, 0, undefined, 60000, undefined, () => 0)).toBe(60000)
  })

  it('lets a one-shot hint (Retry-After, 1013) win, with jitter on top', () => {
    expect(nextDelay(policy, undefined, 5, 0, undefined, undefined, 2000, () => 0)).toBe(2000)
    expect(nextDelay(policy, undefined, 5, 0, undefined, undefined, 2000, () => 1)).toBe(3000)
    expect(nextDelay(policy, undefined, 0, 0, undefined, undefined, 0, () => 1)).toBe(100)
  })

  it('gives up after maxAttempts or maxElapsed', () => {
    const limited = policyOf({ maxAttempts: 3, maxElapsed: 10000 })
    expect(nextDelay(limited, undefined, 2, 0, undefined, undefined, undefined, () => 0)).toBe(0)
    expect(nextDelay(limited, undefined, 3, 0, undefined, undefined, undefined, () => 0)).toBe(false)
    expect(nextDelay(limited, undefined, 0, 10000, undefined, undefined, undefined, () => 0)).toBe(false)
  })

  it('uses a custom function when given', () => {
    expect(nextDelay(policy, (attempt) => (attempt < 2 ? attempt * 10 : false), 1, 0, undefined, undefined, undefined, Math.random)).toBe(10)
    expect(nextDelay(policy, () => false, 0, 0, undefined, undefined, undefined, Math.random)).toBe(false)
  })
})

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates', () => {
    const now = Date.parse('Sun, 22 Nov 2026 10:00:00 GMT')
    expect(parseRetryAfter('120', now)).toBe(120000)
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30000)
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe('classify', () => {
  it.each([
    ['a clean end of stream', undefined, true, 'retry'],
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
    ['a heartbeat timeout on a proven connection', new TimeoutError('silent', 'eventsource'), true, 'retry'],
    ['a decode failure', new DecodeError('x', 'poll', new Error('bad')), true, 'retry'],
    ['a buffering proxy, even on a proven stream', new SubwireError('buffered', 'bursts', 'eventsource', true), true, 'fallback'],
  ] as const)('%s → %s', (_name, error, proven, decision) => {
    expect(classify(error, proven)).toBe(decision)
  })
})
