// Server-sent events. By default over fetch streaming, so headers, Last-Event-ID, `retry`,
// comments and id-only blocks are in subwire's hands; over the native EventSource when fetch
// streaming is missing or `eventsource: 'native'` asks for it. Either way reconnecting is the
// subscription's job: the native object is closed at its first error.
import { ConnectionError } from '../errors'
import { withParams } from '../url'
import { fetchLoop, toError } from './http'
import type { Transport, TransportContext, TransportSink, TransportHandle } from './types'

export const eventsource: Transport = (context, sink) =>
  context.eventsource === 'native' || (context.eventsource === 'auto' && !context.env.fetch)
    ? native(context, sink)
    : fetchLoop(context, sink)


// The native object starts each connection with an empty last event ID; subwire's resume point
// carries on, and an event's own `id` is known only when the native value changes. Once closed, a
// native EventSource dispatches nothing more, and the subscription ignores a closed attempt anyway.
function native(context: TransportContext, sink: TransportSink): TransportHandle {
  let source: EventSource | undefined
  let closed = false
  let lastEventId = context.lastEventId()
  let nativeLast = ''

  const onEvent = (event: Event) => {
    const { type, data, lastEventId: id } = event as MessageEvent<string>
    sink.event({ type, data, id: id === nativeLast ? undefined : (nativeLast = lastEventId = id), lastEventId })
  }
  // addEventListener ignores a listener that is already there.
  const listen = (type: string) => source?.addEventListener(type, onEvent)

  context
    .url()
    .then((url) => {
      if (closed) return
      const ES = context.env.EventSource!
      source = new ES(withParams(url, { [context.lastEventIdParam]: lastEventId || undefined }), {
        withCredentials: context.withCredentials,
      })
      source.onopen = sink.open
      source.onerror = () => {
        source!.close()
        sink.close(new ConnectionError('EventSource failed or the stream ended', 'eventsource'))
      }
      listen('message')
      for (const type of context.types()) listen(type)
    })
    .catch((error: unknown) => sink.close(toError(error, context)))

  return {
    close() {
      closed = true
      source?.close()
    },
    listen,
  }
}
