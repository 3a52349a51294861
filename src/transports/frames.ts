// Turns what a transport receives into sink calls: SSE field syntax through the shared parser, or
// JSON frames ({id, event, data, retry} or an array of them). Shared by every transport.
import { createParser, type Parser } from '../parser'
import { ProtocolError } from '../errors'
import type { TransportContext, TransportSink } from './types'

export interface Frames {
  /** Feed SSE text or bytes (a stream; chunks may split anywhere). */
  sse(chunk: string | Uint8Array): void
  /** One complete JSON document. */
  json(text: string): void
  /** A stream or a body ended: drop any unfinished block, keep the resume point. */
  end(): void
}

/** `onComment` counts SSE comment lines (heartbeats). */
export function createFrames(context: TransportContext, sink: TransportSink, onComment?: () => void): Frames {
  const parser: Parser = createParser({
    onEvent: sink.event,
    onComment,
    onRetry: sink.retry,
    onLastEventId: sink.id,
    onError: (error) => sink.warn(new ProtocolError(error.message, context.name, true, error)),
    maxEventSize: context.maxEventSize,
  })
  parser.reset(context.lastEventId())
  let lastEventId = context.lastEventId()

  function one(value: unknown): void {
    if (typeof value !== 'object' || !value) throw 'not an {id, event, data, retry} object'
    const { id, event, data, retry } = value as Record<string, unknown>
    if (typeof retry === 'number' && retry >= 0) sink.retry(Math.floor(retry))
    let own: string | undefined
    if (id !== undefined && id !== null) own = lastEventId = String(id)
    if (data === undefined) {
      if (own !== undefined) sink.id(lastEventId)
      return
    }
    sink.event({
      type: typeof event === 'string' && event ? event : 'message',
      data: typeof data === 'string' ? data : JSON.stringify(data),
      id: own,
      lastEventId,
    })
  }

  return {
    sse(chunk) {
      parser.feed(chunk)
    },
    json(text) {
      lastEventId = context.lastEventId()
      try {
        if (text.length > context.maxEventSize) throw 'larger than maxEventSize'
        const value: unknown = JSON.parse(text)
        if (Array.isArray(value)) for (const item of value) one(item)
        else one(value)
      } catch (cause) {
        // A bad frame is reported and dropped; the connection goes on.
        sink.warn(new ProtocolError(`JSON frame dropped: ${cause}`, context.name, true, cause))
      }
    },
    end() {
      parser.end()
      parser.reset(context.lastEventId())
    },
  }
}
