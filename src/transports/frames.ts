// Turns what a transport receives into sink calls: SSE streams through the shared parser,
// WebSocket frames by the `frames` option, JSON envelopes and `parse` results. One resume point
// per connection, whatever mix of framings arrives, and every id checked before it is used.
import { bound } from '../backoff'
import { createParser } from '../parser'
import { ProtocolError } from '../errors'
import { say, type Said } from '../text'
import type { ParseInfo, ParsedEvent } from '../types'
import type { TransportContext, TransportSink } from './types'

export interface Frames {
  /** A piece of an SSE stream (text or bytes, split anywhere). Returns the heartbeat blocks it completed. */
  stream(chunk: string | Uint8Array): number
  /** One WebSocket frame, read as the `frames` option (or `parse`) says. */
  frame(text: string): void
  /** One whole polling body in JSON, or in the server's own format when `parse` is given; `undefined`: it passed maxEventSize. */
  body(text: string | undefined, info: ParseInfo): void
  /** A stream or a body ended: drop an unfinished block; the resume point stays. */
  end(): void
  /** Events delivered so far. */
  readonly events: number
}

// A text frame in SSE field syntax starts with a field or a comment.
const SSE_START = /^(data|id|event|retry)(:|\r|\n|$)|^:/
// A frame that ends with a blank line leaves the stream between blocks.
const BLOCK_END = /(\r\n|\r|\n)(\r\n|\r|\n)$/
// An object is an envelope when every key is one of these.
const ENVELOPE = /^(id|event|data|retry)$/

export function createFrames(context: TransportContext, sink: TransportSink): Frames {
  const { name, options } = context
  const { heartbeatEvents, maxIdLength, maxEventSize, parse, frames: mode } = options
  let lastEventId = context.lastEventId()
  let events = 0
  // Calls made to the sink; a frame that made none held nothing.
  let told = 0
  let blocks = 0
  let comment = false
  let midBlock = false
  // The connection sent a frame in SSE syntax with a line end, or a field written `name: value`:
  // it speaks SSE. (Until then any other frame is a plain message, however it starts: ":)",
  // "data:image/png;base64,…".)
  let lines = false

  // A frame that was reported (an event, a heartbeat, a warning) is not reported again as empty.
  const warn = (said: Said, cause?: unknown) => (told++, sink.warn(new ProtocolError(said, name, true, cause)))

  /** Deliver an event (data given) or move the resume point (`data` undefined), after checking the id. */
  function deliver(type: string, data: string | undefined, rawId: unknown): void {
    told++
    comment = false
    let id: string | undefined
    if (rawId !== undefined) {
      id = typeof rawId === 'number' && isFinite(rawId) ? String(rawId) : (rawId as string)
      if (typeof id !== 'string' || /[\0\r\n]/.test(id) || id.length > maxIdLength) {
        // An id that cannot travel back in a URL or a header: the previous resume point stays.
        warn(say('bad-id', maxIdLength))
        id = undefined
      } else lastEventId = id
    }
    if (data === undefined) {
      if (id !== undefined) sink.id(id)
    } else if (heartbeatEvents.includes(type)) sink.heartbeat()
    else {
      events++
      sink.event({ type, data, id, lastEventId })
    }
  }

  function heartbeat(): void {
    told++
    sink.heartbeat()
  }

  const out: Out = { deliver, heartbeat, warn, retry: (ms) => (told++, sink.retry(ms)) }
  const parser = createParser({
    onEvent: (m) => deliver(m.type, m.data, m.id),
    onRetry: (ms) => out.retry(bound(ms)!),
    onLastEventId: (id) => deliver('', undefined, id),
    // One heartbeat per block, however many comment lines it has: `: hi` and the blank line after
    // it are one greeting, not a cadence.
    onComment() {
      if (!comment) heartbeat()
      comment = true
    },
    onEmptyBlock(type) {
      if (type || comment) blocks++
      if (type && !comment) heartbeat()
      comment = false
    },
    onError: (error) => warn(say('big-event', maxEventSize), error),
    maxEventSize,
  })

  return {
    stream(chunk) {
      blocks = 0
      parser.feed(chunk)
      return blocks
    },
    frame(text) {
      const before = told
      if (text.length > maxEventSize) return warn(say('big-frame', maxEventSize))
      if (parse) parsed(out, parse, text, { transport: name })
      else if (mode === 'text') deliver('message', text, undefined)
      else if (mode === 'sse' || midBlock || (mode === 'auto' && SSE_START.test(text) && (lines ||= /[\r\n]|^\w+: /.test(text)))) {
        parser.feed(text)
        if ((midBlock = !BLOCK_END.test(text))) return
      } else if (mode === 'json' || text[0] === '{' || text[0] === '[') json(out, text, mode === 'json' ? mode : 'auto')
      else deliver('message', text, undefined)
      if (told === before) warn(say('empty-frame'))
    },
    body(text, info) {
      if (text === undefined) warn(say('big-body', maxEventSize))
      else if (parse) parsed(out, parse, text, info)
      else json(out, text, 'body')
    },
    end() {
      parser.end()
      midBlock = comment = false
    },
    get events() {
      return events
    },
  }
}

/** What the readers below give their results to (a `createFrames`' own). */
interface Out {
  deliver(type: string, data: string | undefined, rawId: unknown): void
  heartbeat(): void
  warn(said: Said, cause?: unknown): void
  retry(ms: number): void
}

/** One `{id?, event?, data?, retry?}`: a JSON envelope (type in `event`) or what `parse` returned (type in `type`). */
function one(out: Out, value: ParsedEvent & { event?: unknown }): void {
  const { data, retry } = value
  const type = value.event ?? value.type
  if (typeof retry === 'number' && bound(retry) !== undefined) out.retry(bound(retry)!)
  if (data === undefined && value.id === undefined) {
    if (retry === undefined) out.heartbeat()
  } else out.deliver(typeof type === 'string' && type ? type : 'message', data === undefined || typeof data === 'string' ? data : JSON.stringify(data), value.id)
}

function isEnvelope(value: unknown): value is ParsedEvent {
  // (The keys of an array or a string are indices; a number or a boolean has none.)
  const keys = value == null ? [] : Object.keys(value)
  return keys.length > 0 && keys.every((key) => ENVELOPE.test(key))
}

/**
 * JSON text: an envelope or a non-empty array of envelopes become events. On WebSocket (`auto`,
 * `json`) any other JSON is one `message` whose data is the frame, and so is text that is not
 * JSON in `auto`. A polling body (`body`) that is not envelopes is a `ProtocolError`.
 */
function json(out: Out, text: string, as: 'auto' | 'json' | 'body'): void {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (cause) {
    return as === 'auto' ? out.deliver('message', text, undefined) : out.warn(say('not-json', cause), cause)
  }
  const list = Array.isArray(value) ? value : [value]
  if (list.every(isEnvelope) && (as === 'body' || list.length)) for (const item of list) one(out, item)
  else if (as !== 'body') out.deliver('message', text, undefined)
  else out.warn(say('not-envelopes'))
}

/** A text read by the `parse` option. */
function parsed(out: Out, parse: NonNullable<TransportContext['options']['parse']>, text: string, info: ParseInfo): void {
  // parse threw, or gave items that are not events (not an object, data JSON cannot write, a
  // getter that throws): those are skipped, the others delivered, and the text reported once, as
  // one unreadable frame.
  let failed: [unknown] | undefined
  try {
    const result = parse(text, info)
    if (result == null || (Array.isArray(result) && !result.length)) return out.heartbeat()
    for (const item of [result].flat()) {
      try {
        if (Object(item) !== item) throw item
        one(out, item)
      } catch (cause) {
        failed ??= [cause]
      }
    }
  } catch (cause) {
    failed = [cause]
  }
  if (failed) out.warn(say('parse-failed', failed[0]), failed[0])
}
