// Which transport (and which node) to use next: plain functions from a value to a new value, no
// timers, no I/O. Index 0 is the best transport; a higher index is a fallback.
//
// Invariants (checked by test/unit/negotiate.test.ts):
// - the probe target is always above (better than) the transport in use, and exists only on a fallback;
// - an upgrade moves up to the probe target, never down;
// - after a whole round (every transport on every node) failed since the last proven connection,
//   the next attempt waits.
import type { TransportName } from './types'

export interface Negotiation {
  /** The transport in use or being tried (an index into the order, best first). */
  readonly index: number
  /** The node in use or being tried. */
  readonly node: number
  /** The next transport a probe tries (always < index). */
  readonly target: number
  /** Failed probes and step-downs in a row: each doubles the wait before the next probe. */
  readonly failures: number
  /** Attempts that failed before proving themselves since the last proven connection. */
  readonly unproven: number
}

export function negotiation(order: readonly TransportName[], remembered?: TransportName): Negotiation {
  return { index: Math.max(0, order.indexOf(remembered!)), node: 0, target: 0, failures: 0, unproven: 0 }
}

/**
 * The attempt failed before it proved itself: the next transport, or the next node after the
 * last transport (`size`: transports, `nodes`: nodes). `down` asks to go at least as far down as
 * that index (a buffering proxy spoils every stream: long polling). `round`: a whole round has
 * failed since the last proven connection, so the next attempt waits a backoff delay.
 */
export function fallback(n: Negotiation, size: number, nodes: number, down = -1): { next: Negotiation; round: boolean } {
  const index = Math.max(n.index + 1, down)
  const unproven = n.unproven + 1
  return {
    next: { index: index < size ? index : 0, node: index < size ? n.node : (n.node + 1) % nodes, target: 0, failures: n.failures + 1, unproven },
    round: unproven % (size * nodes) === 0,
  }
}

/** A connection proved itself. */
export const proven = (n: Negotiation): Negotiation => ({ ...n, unproven: 0 })

/** The transport a probe should try now, or `undefined` when the best one is in use. */
export const probeTarget = (n: Negotiation): number | undefined => (n.index > 0 ? Math.min(n.target, n.index - 1) : undefined)

/** A probe failed: try the next better transport next time, and wait longer. */
export const probeFailed = (n: Negotiation): Negotiation => ({
  ...n,
  failures: n.failures + 1,
  target: n.index > 1 ? (Math.min(n.target, n.index - 1) + 1) % n.index : 0,
})

/** The connection in use moves to `index` (a probe that succeeded, or a race the lower transport won). */
export const moved = (n: Negotiation, index: number): Negotiation => ({ ...n, index, target: 0, failures: index < n.index ? 0 : n.failures })
