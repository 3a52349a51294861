// The negotiation on its own: pure functions from a value to a new value, checked against their
// invariants under random use.
import { describe, expect, it } from 'vitest'
import { fallback, moved, negotiation, probeFailed, probeTarget, proven, type Negotiation } from '../../src/negotiate'
import type { TransportName } from '../../src/index'

const ALL: TransportName[] = ['websocket', 'eventsource', 'longpoll', 'poll']
const name = (n: Negotiation, order = ALL) => order[n.index]

describe('negotiation', () => {
  it('starts on the remembered transport, else the first', () => {
    expect(name(negotiation(ALL, 'longpoll'))).toBe('longpoll')
    expect(name(negotiation(ALL))).toBe('websocket')
    expect(name(negotiation(ALL, 'carrier-pigeon' as TransportName))).toBe('websocket')
  })

  it('falls back one transport at a time, and asks for a delay once a whole round failed', () => {
    let n = negotiation(ALL)
    const rounds: boolean[] = []
    for (let i = 0; i < 8; i++) {
      const { next, round } = fallback(n, 4, 1)
      rounds.push(round)
      n = next
      if (i === 2) expect(name(n)).toBe('poll')
    }
    expect(rounds).toEqual([false, false, false, true, false, false, false, true])
    expect(name(n)).toBe('websocket')
  })

  it('never changes the value it is given', () => {
    const n = Object.freeze(negotiation(ALL))
    expect(() => [fallback(n, 4, 1), proven(n), probeFailed(n), moved(n, 0)]).not.toThrow()
    expect(n).toEqual(negotiation(ALL))
  })

  it('steps down at least to long polling for a buffering proxy', () => {
    expect(name(fallback(negotiation(ALL), 4, 1, 2).next)).toBe('longpoll')
  })

  it('moves to the next node after the last transport of a node', () => {
    let n = negotiation(['websocket', 'eventsource'])
    n = fallback(n, 2, 2).next
    expect([n.node, n.index]).toEqual([0, 1])
    const second = fallback(n, 2, 2)
    expect(second.round).toBe(false)
    expect([second.next.node, second.next.index]).toEqual([1, 0])
    const last = fallback(fallback(second.next, 2, 2).next, 2, 2)
    expect(last.round).toBe(true)
    expect(last.next.node).toBe(0)
  })

  it('probes nothing on the best transport, and targets only better ones elsewhere', () => {
    expect(probeTarget(negotiation(ALL))).toBeUndefined()
    let n: Negotiation = { ...negotiation(ALL), index: 3 }
    const targets = new Set<number>()
    for (let i = 0; i < 12; i++) {
      targets.add(probeTarget(n)!)
      n = probeFailed(n)
    }
    expect([...targets].sort()).toEqual([0, 1, 2])
  })

  it('an upgrade moves up to the target and retargets above it (never the transport in use)', () => {
    const n = probeFailed(negotiation(ALL, 'poll'))
    const target = probeTarget(n)!
    expect(target).toBe(1)
    const up = moved(n, target)
    expect(name(up)).toBe('eventsource')
    expect(probeTarget(up)).toBe(0)
    expect(up.failures).toBe(0)
  })

  it('keeps its invariants under any sequence of events', () => {
    let seed = 12345
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    for (let run = 0; run < 200; run++) {
      const order = ALL.slice(0, 1 + Math.floor(random() * 4))
      const nodes = 1 + Math.floor(random() * 3)
      let n = negotiation(order, order[Math.floor(random() * order.length)])
      for (let step = 0; step < 100; step++) {
        const before = n.index
        const r = random()
        if (r < 0.3) n = fallback(n, order.length, nodes, random() < 0.2 ? 2 : -1).next
        else if (r < 0.5) n = proven(n)
        else if (r < 0.75) n = probeFailed(n)
        else {
          const target = probeTarget(n)
          if (target !== undefined) {
            n = moved(n, target)
            expect(n.index).toBeLessThan(before)
          }
        }
        const target = probeTarget(n)
        if (n.index === 0) expect(target).toBeUndefined()
        else expect(target!).toBeLessThan(n.index)
        expect(n.index).toBeGreaterThanOrEqual(0)
        expect(n.index).toBeLessThan(order.length)
        expect(n.node).toBeLessThan(nodes)
      }
    }
  })
})
