// Side connections and the remembered transport: the negotiation plug-in of the state machine
// (machine.ts), part of the `subwire` entry and available to `subwire/core` users as `sides`. Pure:
// each hook changes the step's draft state and adds effects.
//
// - Race (happy eyeballs, as RFC 8305 does for addresses): when the transport in use has not
//   proved itself within RACE ms, the next one starts beside it. Whichever proves itself first
//   delivers; when the lower one wins, the preferred one stays on as a probe and wins back when it
//   shows the same events by id. An accepted transport that stays silent while the one beside it
//   delivers is starved; when both stay silent until connectTimeout, the server is quiet: the
//   preferred one is kept (trusted, on probation: checked again after connectTimeout, then twice as
//   long each time).
// - Probe: on a fallback, after `upgradeAfter` a better transport is opened on the side; once it
//   delivers an event with an id the one in use delivered too, it carries the same stream and can
//   resume: the subscription moves up to it (reconnecting from the last id).
// - Remember: a transport that proved itself is stored for the endpoint only when every better one
//   was seen to fail — not when one was merely slow.
import { arm, attempt, confirm, connect, dropSide, log, nameOf, onMain, stopMain, type Attempt, type Draft, type Input, type Key, type Sides } from './machine'
import type { Negotiation } from './connection'
import { TimeoutError } from './errors'
import { moved, probeFailed, probeTarget } from './negotiate'
import { recall, remember as store } from './remember'

/** How long the transport in use has to prove itself before the next one starts beside it. */
export const RACE = 1500
/** Ids kept per connection while a probe runs. */
const RING = 64

const push = (ring: readonly string[], id: string) => [...ring.slice(1 - RING), id]

function scheduleProbe(d: Draft): void {
  const { s, c } = d
  if (!c.options.upgradeAfter || s.deadlines.probe || s.side?.purpose === 'probe' || probeTarget(s.neg) === undefined) return
  arm(d, 'probe', c.options.upgradeAfter * 2 ** Math.min(s.neg.failures, 5))
}

/** Start a side attempt on `index`: a race (the next transport) or a probe (a better one). */
function side(d: Draft, index: number, purpose: 'race' | 'probe'): void {
  const { s, c } = d
  dropSide(d)
  s.side = attempt(d, index, s.main!.node, purpose)
  log(d, purpose === 'race' ? 'check' : 'probe', undefined, nameOf(d, s.side))
  arm(d, 'side', purpose === 'race' ? c.options.connectTimeout : 3 * c.options.connectTimeout)
}

/** Store the transport in use for the endpoint when every better one was seen to fail. */
function remember(d: Draft): void {
  const { s, c } = d
  const a = s.main!
  const name = nameOf(d)
  if (!c.options.rememberFor || !a.proven || s.remembered === name) return
  for (let i = 0; i < a.index; i++) if (!s.failed.includes(i)) return
  s.remembered = name
  d.fx.push({ t: 'remember', name })
  log(d, 'remember')
}

/** A probe did not show the same stream: try another (or wait longer) next time. */
function probeDone(d: Draft, failedOutright: boolean): void {
  const { s } = d
  if (failedOutright) s.failed = [...s.failed, s.side!.index]
  dropSide(d)
  s.neg = probeFailed(s.neg)
  remember(d)
  scheduleProbe(d)
}

/** The racing side proved itself first: it becomes the connection in use; the preferred one stays on as a probe. */
function swap(d: Draft): void {
  const { s, c } = d
  const winner = s.side!
  const preferred = s.main!
  s.main = { ...winner, purpose: undefined }
  s.side = { ...preferred, purpose: 'probe', ids: [], noIds: 0 }
  s.mainIds = []
  s.neg = moved(s.neg, (s.tried = winner.index))
  arm(d, 'race', undefined)
  arm(d, 'proof', Math.max(0, winner.startedAt + c.options.connectTimeout - c.now))
  arm(d, 'side', 3 * c.options.connectTimeout)
  log(d, 'fallback', undefined, nameOf(d, preferred))
}

export const sides: Sides = {
  started(d) {
    const { s, c } = d
    if (c.options.silent === 'check' && s.neg.index + 1 < c.options.order.length) arm(d, 'race', RACE)
  },

  proven(d) {
    arm(d, 'race', undefined)
    if (d.s.side?.purpose === 'race') dropSide(d)
    remember(d)
  },

  opened(d) {
    arm(d, 'race', undefined)
    if (d.s.side?.purpose === 'race') dropSide(d)
    scheduleProbe(d)
  },

  silent(d) {
    const { s, c } = d
    const a = s.main!
    if (s.neg.index + 1 >= c.options.order.length) return false
    if (a.openedAt === undefined && s.side?.purpose === 'race') {
      // Both silent until connectTimeout: a quiet server. The preferred one is kept, on probation.
      confirm(d, false)
      if (s.main?.epoch === a.epoch && !s.main.proven) arm(d, 'proof', c.options.connectTimeout * 2 ** Math.min(s.rechecks++, 5))
      return true
    }
    // Ask the next transport (again): does it deliver while this one is silent?
    side(d, s.neg.index + 1, 'race')
    return true
  },

  ended(d, error) {
    const { s } = d
    if (s.side?.purpose !== 'race') return false
    if (error) d.fx.push({ t: 'error', error })
    // Merely slow (no answer yet): the next transport takes over, and this one keeps trying
    // beside it as a probe. Failed: the next one takes its place.
    if (error instanceof TimeoutError && error.retryable) return swap(d), true
    log(d, 'fallback', { error })
    s.failed = [...s.failed, s.main!.index]
    const winner = s.side
    d.fx.push({ t: 'stop', epoch: s.main!.epoch })
    s.main = { ...winner, purpose: undefined }
    s.side = undefined
    s.neg = moved(s.neg, (s.tried = winner.index))
    arm(d, 'race', undefined)
    arm(d, 'side', undefined)
    arm(d, 'proof', Math.max(0, winner.startedAt + d.c.options.connectTimeout - d.c.now))
    return true
  },

  tick(d, key: Key) {
    const { s, c } = d
    if (key === 'race') {
      if (!s.main!.proven && !s.side) side(d, s.neg.index + 1, 'race')
    } else if (key === 'probe') {
      const target = probeTarget(s.neg)
      // A check on the side now: the probe comes after it.
      if (s.side) arm(d, 'probe', c.options.connectTimeout)
      else if (target !== undefined && s.main!.openedAt !== undefined) side(d, target, 'probe')
    } else if (s.side?.purpose === 'probe') probeDone(d, !s.side.proven)
    else if (s.side) quiet(d)
  },

  side(d, input: Input & { epoch: number }) {
    const { s } = d
    const a = (s.side = { ...s.side! }) as { -readonly [K in keyof Attempt]: Attempt[K] }
    const race = a.purpose === 'race'
    switch (input.t) {
      case 'handle':
        a.polls = input.polls
        return
      case 'open':
        a.accepted = true
        a.details = input.details
        if (race && input.details?.proven) return swapAndConfirm(d)
        return
      case 'activity':
      case 'retry':
        return
      case 'warn':
        return race ? raceFailed(d) : probeDone(d, true)
      case 'end':
        if (race) {
          if (input.error) s.failed = [...s.failed, a.index]
          return raceFailed(d)
        }
        return probeDone(d, true)
    }
    // An event, a heartbeat or an id.
    a.proven = true
    if (race) {
      swap(d)
      // The input that proved it is now the connection in use's own.
      return onMain(d, input)
    }
    const id = input.t === 'event' ? input.message.id : input.t === 'id' ? input.id : undefined
    if (input.t === 'heartbeat') return
    if (!id) {
      a.noIds = (a.noIds ?? 0) + 1
      if (a.noIds >= 3) probeDone(d, false)
      return
    }
    a.ids = push(a.ids ?? [], id)
    if (s.mainIds.includes(id)) upgrade(d)
  },

  delivered(d, id) {
    const { s } = d
    if (s.side?.purpose !== 'probe') return
    s.mainIds = push(s.mainIds, id)
    if (s.side.ids?.includes(id)) upgrade(d)
  },
}

/**
 * A check (a race after the proof deadline) had nothing to say: the quiet connection stays
 * (trusted), on probation, checked again after connectTimeout, then twice as long each time. A
 * check that failed itself said nothing: it is tried again after connectTimeout.
 */
function quiet(d: Draft, failed = false): void {
  const { s, c } = d
  const main = s.main!
  dropSide(d)
  if (main.accepted && main.openedAt === undefined) confirm(d, false)
  if (s.main && !s.main.proven) arm(d, 'proof', c.options.connectTimeout * 2 ** Math.min(failed ? 0 : s.rechecks++, 5))
  // A probe that this check replaced (or that came due meanwhile) is due again.
  scheduleProbe(d)
}

/** A racing side failed: dropped; past the proof deadline of the connection in use it was its check. */
const raceFailed = (d: Draft) => (d.s.deadlines.proof === undefined ? quiet(d, true) : dropSide(d))

/** A side attempt that proved itself at its opening (the native EventSource): it takes over. */
function swapAndConfirm(d: Draft): void {
  swap(d)
  confirm(d, true)
}

/** The probe carries the same stream: move up to it, reconnecting from the last id. */
function upgrade(d: Draft): void {
  const { s } = d
  const index = s.side!.index
  s.neg = moved(s.neg, index)
  log(d, 'upgrade', undefined, nameOf(d, s.side))
  stopMain(d)
  connect(d)
}

/** Side connections and the remembered transport, for `createSubscribe(transports, negotiation)`. */
export const negotiation: Negotiation = { sides, recall, remember: store }
