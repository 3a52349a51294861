// Which transport (and which node) to use next: plain functions over a plain object, no timers, no
// I/O. Index 0 is the best transport; a higher index is a fallback.
//
// Invariants (checked by test/unit/negotiate.test.ts):
// - the probe target is always above (better than) the transport in use, and exists only on a fallback;
// - an upgrade moves up to the probe target, never down;
// - what is remembered is a transport that proved itself, never one reached because a provider failed.
import type { TransportName } from './types'

export interface Negotiation {
  /** The transports to try, best first. */
  readonly order: readonly TransportName[]
  /** How many equivalent endpoints (nodes) there are. */
  readonly nodes: number
  /** The transport in use or being tried. */
  index: number
  /** The node in use or being tried. */
  node: number
  /** The next transport a probe tries (always < index). */
  target: number
  /** Failed probes and step-downs in a row: each doubles the wait before the next probe. */
  failures: number
  /** Attempts that failed before proving themselves since the last proven connection. */
  unproven: number
}

export function negotiation(order: readonly TransportName[], nodes: number, remembered?: TransportName): Negotiation {
  return { order, nodes, index: Math.max(0, order.indexOf(remembered!)), node: 0, target: 0, failures: 0, unproven: 0 }
}

export const current = (n: Negotiation): TransportName => n.order[n.index]!

/**
 * The attempt failed before it proved itself: move to the next transport, or the next node after
 * the last transport. `down` asks to go at least as far down as that transport (a buffering proxy
 * spoils every stream: go to long polling). Returns `false` once a whole round (every transport on
 * every node) has failed since the last proven connection: the next attempt waits a backoff delay.
 */
export function fallback(n: Negotiation, down?: TransportName): boolean {
  n.failures++
  n.target = 0
  const next = Math.max(n.index + 1, n.order.indexOf(down!))
  if (next < n.order.length) n.index = next
  else {
    n.index = 0
    n.node = (n.node + 1) % n.nodes
  }
  return ++n.unproven % (n.order.length * n.nodes) !== 0
}

/** A connection proved itself. */
export function proven(n: Negotiation): void {
  n.unproven = 0
}

/** The transport a probe should try now, or `undefined` when the best one is in use. */
export function probeTarget(n: Negotiation): number | undefined {
  return n.index > 0 ? Math.min(n.target, n.index - 1) : undefined
}

/** A probe failed: try the next better transport next time, and wait longer. */
export function probeFailed(n: Negotiation): void {
  n.failures++
  n.target = n.index > 1 ? (Math.min(n.target, n.index - 1) + 1) % n.index : 0
}

/** A probe of `target` succeeded: move up to it. */
export function upgraded(n: Negotiation, target: number): void {
  if (target < n.index) n.index = target
  n.target = 0
  n.failures = 0
}
