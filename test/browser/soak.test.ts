// The chaos soak in CI: 60 s of random server misbehaviour (test/browser/chaos.mjs) with 3000
// events to deliver. The full 5 minutes: `npm run soak` (results in docs/benchmarks.md).
// SOAK_SEED=<n> replays a run.
import { describe, expect, it } from 'vitest'
// @ts-expect-error -- plain ESM module without declarations
import { CEILING, MAX_STUCK, soak } from './chaos.mjs'

describe('chaos soak', () => {
  it('delivers 3000 events exactly once, in order, through 60 s of chaos, under the request ceiling, with a flat heap', async () => {
    const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1e9)
    console.log(`[soak] seed ${seed} (SOAK_SEED to replay)`)
    const r = await soak({ durationMs: 60_000, seed })
    console.log(`[soak] ${r.received}/${r.total} events, ${r.duplicates} doubled, ${r.missing} missing; ${r.requests} requests (at most ${r.maxPerSecond}/s); transports ${JSON.stringify(r.transports)}; errors ${JSON.stringify(r.errors)}; longest stuck ${r.longestStuck} ms; heap ${r.heapStart} → ${r.heapEnd}; chaos ${JSON.stringify(r.actions)}`)
    expect(r.crashed).toBe(false)
    expect(r.pageErrors).toEqual([])
    expect(r.duplicates).toBe(0)
    expect(r.missing).toBe(0)
    expect(r.firstOutOfOrder).toBeUndefined()
    expect(r.inOrder).toBe(true)
    expect(r.maxPerSecond).toBeLessThanOrEqual(CEILING)
    // Never stuck: with events waiting, something happens (an event, a request) within MAX_STUCK.
    expect(r.longestStuck).toBeLessThanOrEqual(MAX_STUCK)
    expect(r.heapGrowth).toBeLessThan(2 * 1024 * 1024)
  }, 180_000)
})
