// Server-sent events. By default over fetch streaming, so headers, Last-Event-ID, `retry`,
// comments and id-only blocks are in subwire's hands; over the native EventSource when fetch
// streaming is missing or `eventsource: 'native'` asks for it. Either way reconnecting is the
// connection's job: the native object is closed at its first error.
import { ConnectionError, ProtocolError } from '../errors'
import { stream, toError } from './http'
import type { Transport, TransportContext, TransportSink, TransportHandle } from './types'

export const eventsource: Transport = (context, sink) =>
  context.options.eventsource === 'native' || (context.options.eventsource === 'auto' && !context.env.fetch)
    ? native(context, sink)
    : stream(context, sink)

// The native object hides comments, `retry` and id-only blocks, and delivers only the event types
// it was told by name (`'message'`, those with listeners, `eventTypes`, `heartbeatEvents`). It
// starts each connection with an empty last event ID; subwire's resume point carries on, and an
// event's own id is known only when the native value changes. Its `open` is all the proof it can
// give. Once closed, a native EventSource dispatches nothing more.
function native(context: TransportContext, sink: TransportSink): TransportHandle {
  const { maxIdLength, heartbeatEvents, eventTypes } = context.options
  let source: EventSource | undefined
  let closed = false
  let lastEventId = context.lastEventId()
  let nativeLast = ''

  const onEvent = (event: Event) => {
    if (closed) return
    const { type, data, lastEventId: id } = event as MessageEvent<string>
    let own: string | undefined
    if (id !== nativeLast) {
      nativeLast = id
      if (id.length > maxIdLength) sink.warn(new ProtocolError(`id of ${id.length} characters ignored, over maxIdLength (${maxIdLength})`, 'eventsource'))
      else own = lastEventId = id
    }
    if (heartbeatEvents.includes(type)) sink.heartbeat()
    else sink.event({ type, data, id: own, lastEventId })
  }
  // addEventListener ignores a listener that is already there.
  const listen = (type: string) => source?.addEventListener(type, onEvent)

  context
    .url(true)
    .then((url) => {
      if (closed) return
      const s = (source = new context.env.EventSource!(url, { withCredentials: context.options.withCredentials }))
      s.onopen = () => closed || sink.open({ proven: true })
      s.onerror = () => {
        if (closed) return
        closed = true
        s.close()
        sink.close(new ConnectionError('EventSource failed or the stream ended (the native object tells no more: use eventsource: \'fetch\' for details)', 'eventsource'))
      }
      for (const type of ['message', ...eventTypes, ...heartbeatEvents, ...context.types()]) listen(type)
    })
    .catch((error: unknown) => closed || ((closed = true), sink.close(toError(error, context))))

  return {
    close() {
      closed = true
      source?.close()
    },
    listen,
  }
}
