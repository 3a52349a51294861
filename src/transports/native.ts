// Server-sent events over the browser's own EventSource. The `eventsource` transport turns to it
// (eventsource.ts); on its own, `nativeEventSource` is the eventsource transport of an app that
// never needs fetch streaming: no fetch, no parser, the smallest build.
import { ConnectionError, ProtocolError, toError } from '../errors'
import { say } from '../text'
import { queryOk, refuseHeader, refuseQuery } from './last-event-id'
import type { Transport, TransportContext, TransportHandle, TransportSink } from './types'

/**
 * The eventsource transport over the native EventSource only, for `subwire/core`:
 * `createSubscribe({ eventsource: nativeEventSource })`. As `eventsource: 'native'` does: no custom
 * headers (the token goes in `query`), no request body; the resume point goes in the query, the
 * native object's own reconnects send `Last-Event-ID`.
 */
export const nativeEventSource: Transport = /* @__PURE__ */ Object.assign((context: TransportContext, sink: TransportSink) => native(context, sink), { native: true as const })

/** Reconnects the native object may make by itself in a row that show no progress (fast, or failing). */
const OWN_RETRIES = 3

// The native object hides comments, `retry` and id-only blocks, and delivers only the event types
// it was told by name (`'message'`, those with listeners, `eventTypes`, `heartbeatEvents`). It
// starts with an empty last event ID (subwire's resume point goes in the query); its own
// reconnects send Last-Event-ID, so they are left to it once it has opened, unless they make no
// progress: OWN_RETRIES in a row that brought nothing, or that came under a second apart with one
// event or none. Then it is closed and the connection's backoff takes over. `learn`: opened because a fetch with Last-Event-ID failed; its opening shows
// that the server is up, so the origin does not allow that header.
export function native(context: TransportContext, sink: TransportSink, learn = false): TransportHandle {
  const { env, target } = context
  const { maxIdLength, maxEventSize, heartbeatEvents, eventTypes } = context.options
  let source: EventSource | undefined
  let closed = false
  let lastEventId = context.lastEventId()
  let nativeLast = ''
  // Events since the last open, and when it opened; since the last error; cycles in a row of one
  // event or less under a second apart (fast), and reconnects in a row that brought nothing (idle).
  let events = 0
  let openedAt = 0
  let sinceError = 0
  let reopened = false
  let fast = 0
  let idle = 0

  const onEvent = (event: Event) => {
    // (The object's own open and error are plain events; they go to onopen and onerror.)
    if (closed || !('data' in event)) return
    const { type, data, lastEventId: id } = event as MessageEvent<string>
    let own: string | undefined
    // After a reconnect of its own, the first event's id is its own even when it repeats the last
    // (a server that resumes with ">=" instead of ">"), so that the replay is recognised.
    if (id !== nativeLast || (reopened && id)) {
      nativeLast = id
      if (id.length > maxIdLength) sink.warn(new ProtocolError(say('bad-id', maxIdLength), 'eventsource'))
      else own = lastEventId = id
    }
    reopened = false
    if (closed) return
    events++
    sinceError++
    if (data.length > maxEventSize) {
      sink.warn(new ProtocolError(say('big-event', maxEventSize), 'eventsource'))
      if (own !== undefined && !closed) sink.id(own)
    } else if (heartbeatEvents.includes(type)) sink.heartbeat()
    else sink.event({ type, data, id: own, lastEventId })
  }
  // addEventListener ignores a listener that is already there.
  const listen = (type: string) => source?.addEventListener(type, onEvent)

  // The resume id in the query (the header cannot go on a first request), unless this URL was seen
  // to take no query (a plain server that routes on the exact URL).
  let queried = queryOk(target) && !!context.lastEventId()
  const start = () =>
    context
      .url(queried, false)
      .then((url) => {
        if (closed) return
        const s = (source = new env.EventSource!(url, { withCredentials: context.options.withCredentials }))
        // A server event named open or error reaches these handlers too: a MessageEvent (it has data),
        // delivered by onEvent.
        s.onopen = (e) => {
          if (closed || 'data' in e) return
          if (learn) refuseHeader(target)
          learn = false
          const now = env.now()
          fast = openedAt && now - openedAt < 1000 && events < 2 ? fast + 1 : 0
          reopened = !!openedAt
          events = 0
          openedAt = now
          sink.open({ proven: true })
        }
        s.onerror = (e) => {
          if (closed || 'data' in e) return
          // spec: a CONNECTING EventSource is reconnecting by itself after its `retry` time.
          idle = sinceError ? 0 : idle + 1
          sinceError = 0
          if (s.readyState === 0 && openedAt && fast < OWN_RETRIES && idle < OWN_RETRIES) return
          // Failed (not a network error: that reconnects) before it opened, with the id in its query:
          // a plain server's 404 as likely as not. Asked once more, at once, for the URL as given (the
          // replay check drops what it sends again), and so from now on.
          if (queried && !openedAt && s.readyState === 2) return void (refuseQuery(target), (queried = false), start())
          closed = true
          s.close()
          sink.close(
            // Turned to after a fetch failed, and never opened: the fetch's diagnosis is the better one.
            learn
              ? toError(undefined, 'eventsource')
              : new ConnectionError(say('native-failed'), 'eventsource'),
          )
        }
        // Events named like the subscription's lifecycle events go to its message listeners, as over fetch.
        for (const type of ['message', 'open', 'error', 'state', 'reset', ...eventTypes, ...heartbeatEvents, ...context.types()]) listen(type)
      })
      .catch((error: unknown) => closed || ((closed = true), sink.close(toError(error, 'eventsource'))))
  start()

  return {
    close() {
      closed = true
      source?.close()
    },
    listen,
  }
}
