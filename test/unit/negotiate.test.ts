// The negotiation on its own: plain functions, checked against their invariants under random use.
import { describe, expect, it } from 'vitest'
import { current, fallback, negotiation, probeFailed, probeTarget, proven, upgraded } from '../../src/negotiate'
import type { TransportName } from '../../src/index'

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll', 'poll']

describe('negotiation', () => {
  it('starts on the remembered transport, else the first', () => {
    expect(current(negotiation(ALL, 1, 'longpoll'))).toBe('longpoll')
    expect(current(negotiation(ALL, 1))).toBe('websocket')
    expect(current(negotiation(ALL, 1, 'carrier-pigeon' as TransportName))).toBe('websocket')
  })

  it('falls back one transport at a time, and asks for a delay once a whole round failed', () => {
    const n = negotiation(ALL, 1)
    expect([fallback(n), fallback(n), fallback(n)]).toEqual([true, true, true])
    expect(current(n)).toBe('poll')
    expect(fallback(n)).toBe(false)
    expect(current(n)).toBe('websocket')
    // The next round goes through at once again, then waits again.
    expect([fallback(n), fallback(n), fallback(n), fallback(n)]).toEqual([true, true, true, false])
  })

  it('steps down at least to long polling for a buffering proxy', () => {
    const n = negotiation(ALL, 1)
    fallback(n, 'longpoll')
    expect(current(n)).toBe('longpoll')
  })

  it('moves to the next node after the last transport of a node', () => {
    const n = negotiation(['websocket', 'eventsource'], 2)
    fallback(n)
    expect([n.node, current(n)]).toEqual([0, 'eventsource'])
    expect(fallback(n)).toBe(true)
    expect([n.node, current(n)]).toEqual([1, 'websocket'])
    fallback(n)
    expect(fallback(n)).toBe(false)
    expect(n.node).toBe(0)
  })

  it('probes nothing on the best transport, and targets only better ones elsewhere', () => {
    const n = negotiation(ALL, 1)
    expect(probeTarget(n)).toBeUndefined()
    n.index = 3
    const targets = new Set<number>()
    for (let i = 0; i < 12; i++) {
      targets.add(probeTarget(n)!)
      probeFailed(n)
    }
    expect([...targets].sort()).toEqual([0, 1, 2])
  })

  it('an upgrade moves up to the target and retargets above it (never the transport in use)', () => {
    const n = negotiation(ALL, 1, 'poll')
    probeFailed(n)
    const target = probeTarget(n)!
    expect(target).toBe(1)
    upgraded(n, target)
    expect(current(n)).toBe('eventsource')
    expect(probeTarget(n)).toBe(0)
    // An "upgrade" to a worse transport is refused.
    upgraded(n, 3)
    expect(current(n)).toBe('eventsource')
  })

  it('keeps its invariants under any sequence of events', () => {
    let seed = 12345
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    for (let run = 0; run < 200; run++) {
      const order = ALL.slice(0, 1 + Math.floor(random() * 4))
      const n = negotiation(order, 1 + Math.floor(random() * 3), order[Math.floor(random() * order.length)])
      for (let step = 0; step < 100; step++) {
        const before = n.index
        const r = random()
        if (r < 0.3) fallback(n, random() < 0.2 ? 'longpoll' : undefined)
        else if (r < 0.5) proven(n)
        else if (r < 0.75) probeFailed(n)
        else {
          const target = probeTarget(n)
          if (target !== undefined) {
            upgraded(n, target)
            expect(n.index).toBeLessThan(before)
          }
        }
        const target = probeTarget(n)
        if (n.index === 0) expect(target).toBeUndefined()
        else expect(target!).toBeLessThan(n.index)
        expect(n.index).toBeGreaterThanOrEqual(0)
        expect(n.index).toBeLessThan(order.length)
        expect(n.node).toBeLessThan(n.nodes)
      }
    }
  })
})
