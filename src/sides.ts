// Side connections and the remembered transport: the negotiation plug-in of the state machine
// (machine.ts), part of the `subwire` entry and available to `subwire/core` users as
// `negotiation`. Pure: each hook works on the state of the step in progress and adds effects.
//
// - Race (happy eyeballs, as RFC 8305 does for addresses): when the transport in use has not
//   proved itself within RACE ms, the next one starts beside it. Whichever proves itself first
//   delivers; when the lower one wins, the preferred one stays on as a probe and wins back when it
//   shows the same events by id. An accepted transport still silent RACE ms after the one beside
//   it delivered is starved; when both stay silent until connectTimeout, the server is quiet: the
//   preferred one is kept (trusted, on probation: checked again after connectTimeout, then twice
//   as long each time). While nothing proves itself the race moves down one transport per RACE ms;
//   when the preferred one then fails outright, the best stream it passed by is probed at once.
// - Probe: on a fallback, after `upgradeAfter` a better transport is opened on the side; once it
//   delivers an event with an id the one in use delivered too, it carries the same stream and can
//   resume: the subscription moves up to it (reconnecting from the last id).
// - Remember: a transport that proved itself is stored for the endpoint only when every better one
//   was seen to fail (refused, starved while another delivered, or a probe that showed nothing) —
//   not when one was merely slow.
import type { Negotiation } from './connection'
import { TimeoutError } from './errors'
import { arm, attempt, c, confirm, connect, dropSide, fx, log, nameOf, onMain, s, stopMain, tell, type Report, type Sides } from './machine'
import { say } from './text'
import { moved, probeFailed, probeTarget } from './negotiate'
import { recall, remember as store } from './remember'

/** How long the transport in use has to prove itself before the next one starts beside it. */
export const RACE = 1500
/** Ids kept per connection while a probe runs. */
const RING = 64

const push = (ring: readonly string[], id: string) => [...ring.slice(1 - RING), id]

function scheduleProbe(): void {
  if (!c.options.upgradeAfter || s.deadlines.probe || s.side?.purpose === 'probe' || probeTarget(s.neg) === undefined) return
  arm('probe', c.options.upgradeAfter * 2 ** Math.min(s.neg.failures, 5))
}

/** Start a side attempt on `index`: a race (the next transport) or a probe (a better one). */
function side(index: number, purpose: 'race' | 'probe'): void {
  dropSide()
  s.side = attempt(index, s.main!.node, purpose)
  log(purpose === 'race' ? 'check' : 'probe', undefined, nameOf(s.side))
  arm('side', (purpose === 'race' ? 1 : 3) * c.options.connectTimeout)
}

/** Store the transport in use for the endpoint when every better one was seen to fail (with one transport, nothing to choose). */
function remember(): void {
  const a = s.main!
  const name = nameOf()
  if (!c.options.rememberFor || c.options.order.length < 2 || !a.proven || s.remembered === name) return
  for (let i = 0; i < a.index; i++) if (!((s.failed >> i) & 1)) return
  s.remembered = name
  fx.push(['remember', name])
  log('remember')
}

/** A probe did not show the same stream: try another (or wait longer) next time. */
function probeDone(failedOutright: boolean): void {
  if (failedOutright) s.failed |= 1 << s.side!.index
  dropSide()
  s.neg = probeFailed(s.neg)
  remember()
  scheduleProbe()
}

/** The racing side takes the place of the transport in use; `keep`: that one stays on as a probe. */
function swap(keep: boolean): void {
  const winner = s.side!
  const preferred = s.main!
  if (!keep) fx.push(['stop', preferred.epoch])
  s.main = { ...winner, purpose: undefined }
  s.side = keep ? { ...preferred, purpose: 'probe', ids: [], noIds: 0 } : undefined
  s.mainIds = []
  s.neg = moved(s.neg, (s.tried = winner.index))
  arm('race', undefined)
  arm('proof', Math.max(0, winner.startedAt + winner.proofTimeout - c.now))
  arm('side', keep ? 3 * c.options.connectTimeout : undefined)
}

/**
 * The racing side proved itself first. The preferred transport stays on as a probe that wins back
 * when it shows the same events. Accepted, it is starved (a proxy holds its data back) when it
 * still shows nothing RACE ms after the winner delivered an event — its own copy of that event may
 * be a moment behind. A WebSocket that got no answer failed (every server answers an upgrade at
 * once: a proxy holds it). A stream with no answer (`held`) may merely be slow (a server that sends
 * its headers with its first event): only its probe can show that it failed.
 */
function won(delivered: boolean): void {
  const winner = s.side!
  const preferred = s.main!
  const blocked = preferred.acceptedAt === undefined && nameOf(preferred) === 'websocket'
  if (preferred.acceptedAt !== undefined && delivered) {
    swap(true)
    s.side = { ...s.side!, starving: true }
    arm('side', RACE)
    return
  }
  const error = new TimeoutError(say('held', nameOf(winner)), nameOf(preferred), false)
  if (blocked) s.failed |= 1 << preferred.index
  log('fallback', { error }, nameOf(preferred))
  tell('error', error)
  swap(!blocked)
  if (blocked) probeBetween(preferred.index, winner.index)
}

/** RACE ms after the race winner's first event, the accepted preferred transport showed nothing. */
function starved(): void {
  const probe = s.side!
  const error = new TimeoutError(say('starved', nameOf()), nameOf(probe), false)
  log('fallback', { error }, nameOf(probe))
  tell('error', error)
  probeDone(true)
}

/**
 * The preferred transport failed and the winner is further down: the transports the race passed
 * by (started and dropped as it moved on) were never seen to fail. The best of them is probed now.
 */
function probeBetween(from: number, to: number): void {
  for (let i = from + 1; i < to; i++) if (!((s.failed >> i) & 1)) return side(i, 'probe')
}

/**
 * A check (a race after the proof deadline) had nothing to say: the quiet connection stays
 * (trusted), on probation, checked again after connectTimeout, then twice as long each time. A
 * check that failed itself said nothing: it is tried again after connectTimeout.
 */
function quiet(failed = false): void {
  const main = s.main!
  dropSide()
  if (main.acceptedAt !== undefined && main.openedAt === undefined) confirm(false)
  if (s.main && !s.main.proven) arm('proof', c.options.connectTimeout * 2 ** Math.min(failed ? 0 : s.rechecks++, 5))
  // A probe that this check replaced (or that came due meanwhile) is due again.
  scheduleProbe()
}

/** The probe carries the same stream: move up to it, reconnecting from the last id. */
function upgrade(): void {
  s.neg = moved(s.neg, s.side!.index)
  log('upgrade', undefined, nameOf(s.side))
  stopMain()
  connect()
}

export const sides: Sides = {
  started() {
    if (c.options.silent === 'check' && s.neg.index + 1 < c.options.order.length) arm('race', RACE)
  },

  proven() {
    arm('race', undefined)
    if (s.side?.purpose === 'race') dropSide()
    remember()
  },

  opened() {
    arm('race', undefined)
    if (s.side?.purpose === 'race') dropSide()
    scheduleProbe()
  },

  silent() {
    const a = s.main!
    if (s.neg.index + 1 >= c.options.order.length) return false
    // Both silent until connectTimeout: a quiet server. The preferred one is kept, on probation.
    if (a.openedAt === undefined && s.side?.purpose === 'race') quiet()
    // Ask the next transport (again): does it deliver while this one is silent?
    else side(s.neg.index + 1, 'race')
    return true
  },

  ended(error) {
    if (s.side?.purpose !== 'race') return false
    if (error) tell('error', error)
    // Merely slow (no answer yet): the next transport takes over, and this one keeps trying
    // beside it as a probe. Failed: the next one takes its place.
    const slow = error instanceof TimeoutError && error.retryable
    log('fallback', { error })
    const from = s.main!.index
    if (!slow) s.failed |= 1 << from
    const to = s.side.index
    swap(slow)
    if (!slow) probeBetween(from, to)
    return true
  },

  tick(key) {
    if (key === 'race') {
      // While nothing proved itself, the race moves down one transport every RACE ms — never onto
      // short polling beside another (it proves itself by answering, whatever the path holds back).
      const from = s.side?.purpose === 'race' ? s.side.index : s.side ? -1 : s.neg.index
      const next = from + 1
      const { order } = c.options
      if (s.main!.proven || from < 0 || next >= order.length || (s.side && order[next] === 'poll')) return
      side(next, 'race')
      arm('race', RACE)
    } else if (key === 'probe') {
      const target = probeTarget(s.neg)
      // A check on the side now: the probe comes after it.
      if (s.side) arm('probe', c.options.connectTimeout)
      else if (target !== undefined && s.main!.openedAt !== undefined) side(target, 'probe')
    } else if (s.side?.starving) {
      if (!s.side.proven) return starved()
      // It delivered too: a probe like any other.
      s.side = { ...s.side, starving: false }
      arm('side', 3 * c.options.connectTimeout)
    } else if (s.side?.purpose === 'probe') {
      // A probe that showed nothing while the connection in use delivered nothing either: the
      // server is quiet, which says nothing against the probe. It waits on.
      if (s.side.proven || s.mainIds.length) probeDone(!s.side.proven)
      else arm('side', 3 * c.options.connectTimeout)
    } else if (s.side) quiet()
  },

  side(report: Report) {
    const a = (s.side = { ...s.side! })
    const race = a.purpose === 'race'
    switch (report[0]) {
      case 'handle':
        a.polls = !!report[2].polls
        a.proofTimeout = report[2].proofTimeout ?? c.options.connectTimeout
        return
      case 'open':
        a.acceptedAt = c.now
        a.details = report[2]
        // A side that proves itself by opening (the native EventSource) takes over at once.
        if (race && report[2]?.proven) {
          won(false)
          confirm(true)
        }
        return
      case 'activity':
      case 'retry':
        return
      case 'warn':
      case 'end':
        if (!race) return probeDone(true)
        if (report[0] === 'end' && report[2]) s.failed |= 1 << a.index
        // A racing side that failed: dropped; past the proof deadline of the connection in use it
        // was its check, which said nothing.
        return s.deadlines.proof === undefined ? quiet(true) : dropSide()
    }
    // An event, a heartbeat or an id.
    if (race) {
      won(report[0] !== 'heartbeat')
      // The report that proves it is now the connection in use's own (and proves it as such).
      return onMain([report[0], s.main!.epoch, report[2]] as unknown as Report)
    }
    a.proven = true
    if (report[0] === 'heartbeat') return
    const id = report[0] === 'event' ? report[2].id : report[2]
    if (!id) {
      a.noIds++
      if (a.noIds >= 3) probeDone(false)
      return
    }
    a.ids = push(a.ids, id)
    if (s.mainIds.includes(id)) upgrade()
  },

  delivered(id) {
    if (s.side?.purpose !== 'probe') return
    s.mainIds = push(s.mainIds, id)
    if (id && s.side.ids.includes(id)) upgrade()
  },
}

/** Side connections and the remembered transport, for `createSubscribe(transports, { negotiation })`. */
export const negotiation: Negotiation = { sides, recall, remember: store }
