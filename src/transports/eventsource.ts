// Server-sent events. By default over fetch streaming, so headers, Last-Event-ID, `retry`,
// comments and id-only blocks are in subwire's hands; over the native EventSource when fetch
// streaming is missing or `eventsource: 'native'` asks for it. Either way reconnecting is the
// subscription's job: the native object is closed at its first error.
import { ConnectionError, HttpError, ProtocolError } from '../errors'
import { withParams } from '../url'
import { createFrames } from './frames'
import { framingOf, get, readBody, toError, wrongType } from './http'
import type { Transport, TransportContext, TransportSink, TransportHandle } from './types'

export const eventsource: Transport = (context, sink) =>
  context.eventsource === 'native' || (context.eventsource === 'auto' && !canStream(context))
    ? native(context, sink)
    : streaming(context, sink)

function canStream(context: TransportContext): boolean {
  return !!context.env.fetch && typeof ReadableStream === 'function' && typeof Response === 'function' && 'body' in Response.prototype
}

function streaming(context: TransportContext, sink: TransportSink): TransportHandle {
  const frames = createFrames(context, sink)
  const controller = new AbortController()
  let done = false

  const finish = (error?: Parameters<TransportSink['close']>[0]) => {
    if (done) return
    done = true
    frames.stop()
    controller.abort()
    sink.close(error)
  }

  get(context, controller, {}, true)
    .then(async (response) => {
      if (done) return
      // spec: a 204 No Content status stops reconnection; get() reports other statuses.
      if (response.status === 204) return finish(new HttpError(204, 'eventsource'))
      if (framingOf(response) !== 'sse') return finish(wrongType(response, context))
      sink.open()
      await readBody(response, 'sse', frames, context, () => done || sink.activity())
      if (!done) {
        frames.end()
        finish()
      }
    })
    .catch((error: unknown) => {
      if (!done) finish(toError(error, context))
    })

  return {
    close() {
      if (done) return
      done = true
      frames.stop()
      controller.abort()
    },
  }
}

function native(context: TransportContext, sink: TransportSink): TransportHandle {
  let source: EventSource | undefined
  let done = false
  const listening = new Set<string>()
  let lastEventId = context.lastEventId()
  let nativeLast = ''

  // The native object starts each connection with an empty last event ID; subwire's resume point
  // carries on, and an event's own `id` is known only when the native value changes.
  const onEvent = (event: Event) => {
    if (done) return
    const message = event as MessageEvent<string>
    sink.activity()
    let id: string | undefined
    if (message.lastEventId !== nativeLast) id = nativeLast = lastEventId = message.lastEventId
    sink.event({ type: message.type, data: message.data, id, lastEventId })
  }

  const listen = (type: string) => {
    if (!source || listening.has(type) || type === 'open' || type === 'error') return
    listening.add(type)
    source.addEventListener(type, onEvent)
  }

  const detach = () => {
    if (!source) return
    source.onopen = source.onerror = null
    for (const type of listening) source.removeEventListener(type, onEvent)
    source.close()
  }

  context.url().then(
    (url) => {
      if (done) return
      const ES = context.env.EventSource
      if (!ES) return finish(new ProtocolError('EventSource is not available here', 'eventsource', false))
      source = new ES(withParams(url, { [context.lastEventIdParam]: lastEventId || undefined }), {
        withCredentials: context.withCredentials,
      })
      source.onopen = () => done || sink.open()
      listen('message')
      for (const type of context.types()) listen(type)
      source.onerror = () => finish(new ConnectionError('EventSource failed or the stream ended', 'eventsource'))
    },
    (error: unknown) => finish(toError(error, context)),
  )

  function finish(error: Parameters<TransportSink['close']>[0]) {
    if (done) return
    done = true
    detach()
    sink.close(error)
  }

  return {
    close() {
      if (done) return
      done = true
      detach()
    },
    listen,
  }
}
