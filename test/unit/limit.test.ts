// The six-connection diagnosis (development build): connections counted across tabs by Web Locks,
// per origin; a stream holds one from its open to its end; a waiting attempt sees the most others
// held while it waited.
import { describe, expect, it, vi } from 'vitest'
import { createLimit, CROWDED } from '../../src/limit'

/** A LockManager for one tab group: every request is granted at once and held until its callback's promise settles or its signal aborts. */
function fakeLocks() {
  const held = new Set<string>()
  const locks = {
    query: async () => ({ held: [...held].map((name) => ({ name, mode: 'exclusive' as const })), pending: [] }),
    request: (name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>) => {
      if (options.signal?.aborted) return Promise.reject(new DOMException('aborted', 'AbortError'))
      held.add(name)
      return callback().finally(() => held.delete(name))
    },
  }
  return { locks: locks as unknown as LockManager, held }
}

describe('createLimit', () => {
  it('counts the connections others hold to the same origin only, and keeps the most seen while waiting', async () => {
    vi.useFakeTimers()
    const { locks, held } = fakeLocks()
    const limit = createLimit(locks)
    const releases = Array.from({ length: CROWDED }, () => limit.hold('http://a.test'))
    limit.hold('http://b.test')
    expect(held.size).toBe(CROWDED + 1)
    const stop = limit.waiting(1, 'http://a.test')
    await vi.advanceTimersByTimeAsync(0)
    expect(limit.others(1)).toBe(CROWDED)
    releases.forEach((release) => release())
    await vi.advanceTimersByTimeAsync(1000)
    expect(held.size).toBe(1)
    expect(limit.others(1)).toBe(CROWDED) // the most seen while it waited
    stop()
    expect(limit.others(2)).toBe(0)
  })

  it('a release is idempotent, and stop() ends the counting', async () => {
    vi.useFakeTimers()
    const { locks, held } = fakeLocks()
    const limit = createLimit(locks)
    const release = limit.hold('http://a.test')
    release()
    release()
    await vi.advanceTimersByTimeAsync(0)
    expect(held.size).toBe(0)
    const stop = limit.waiting(3, 'http://a.test')
    await vi.advanceTimersByTimeAsync(0)
    stop()
    limit.hold('http://a.test')
    await vi.advanceTimersByTimeAsync(2000)
    expect(limit.others(3)).toBe(0)
  })
})
