// Turns what a transport receives into sink calls: SSE streams through the shared parser,
// WebSocket frames by the `frames` option, JSON and `parse` results. One resume point per
// connection, whatever mixes of framing arrive, and every id checked before it is used.
import { bound } from '../backoff'
import { createParser } from '../parser'
import { ProtocolError } from '../errors'
import type { ParseInfo, ParsedEvent } from '../types'
import type { TransportContext, TransportSink } from './types'

export interface Frames {
  /** A piece of an SSE stream (text or bytes, split anywhere). Returns the heartbeat blocks it completed. */
  stream(chunk: string | Uint8Array): number
  /** One WebSocket frame, read as the `frames` option (or `parse`) says. */
  frame(text: string): void
  /** One whole polling body in JSON, or in the server's own format when `parse` is given. */
  body(text: string, info: ParseInfo): void
  /** A stream or a body ended: drop an unfinished block; the resume point stays. */
  end(): void
  /** Events delivered so far. */
  readonly events: number
}

const ENVELOPE: Record<string, 1> = { id: 1, event: 1, data: 1, retry: 1 }
// A text frame in SSE field syntax starts with a field or a comment.
const SSE_START = /^(?:data|id|event|retry)(?::|\r|\n|$)|^:/
// A frame that ends with a blank line leaves the stream between blocks.
const BLOCK_END = /(?:\r\n|\r|\n)(?:\r\n|\r|\n)$/

export function createFrames(context: TransportContext, sink: TransportSink): Frames {
  const { name, options } = context
  const { heartbeatEvents, maxIdLength, maxEventSize, parse, frames: mode } = options
  let lastEventId = context.lastEventId()
  let events = 0
  let produced = 0
  let blocks = 0
  let comment = false
  let midBlock = false

  const warn = (message: string, cause?: unknown) => sink.warn(new ProtocolError(message, name, true, cause))

  /** An id the server sent, or `undefined` (with a warning) when it cannot be a resume point. */
  function checkId(id: unknown): string | undefined {
    if (typeof id === 'number' && Number.isFinite(id)) id = String(id)
    if (typeof id !== 'string' || /[\0\r\n]/.test(id)) {
      warn(`id ignored: ${typeof id === 'string' ? 'it holds NUL, CR or LF' : `a ${typeof id} is not an id`} (send ids as strings or numbers)`)
      return undefined
    }
    if (id.length > maxIdLength) {
      warn(`id of ${id.length} characters ignored, over maxIdLength (${maxIdLength}); the resume point stays at the previous id`)
      return undefined
    }
    return id
  }

  function deliver(type: string, data: string, rawId: unknown): void {
    produced++
    comment = false
    const id = rawId === undefined ? undefined : checkId(rawId)
    if (id !== undefined) lastEventId = id
    if (heartbeatEvents.includes(type)) return sink.heartbeat()
    events++
    sink.event({ type, data, id, lastEventId })
  }

  function moveId(rawId: unknown): void {
    produced++
    const id = checkId(rawId)
    if (id !== undefined) sink.id((lastEventId = id))
  }

  function retry(ms: unknown): void {
    produced++
    const value = typeof ms === 'number' ? bound(ms) : undefined
    if (value !== undefined) sink.retry(value)
  }

  function heartbeat(): void {
    produced++
    sink.heartbeat()
  }

  const parser = createParser({
    onEvent: (m) => deliver(m.type, m.data, m.id),
    onRetry: retry,
    onLastEventId: moveId,
    onComment() {
      comment = true
      heartbeat()
    },
    onEmptyBlock(type) {
      if (type || comment) {
        blocks++
        heartbeat()
      }
      comment = false
    },
    onError: (error) => warn(`${error.message}: raise maxEventSize if such events are expected`, error),
    maxEventSize,
  })

  /** One `{id?, event?, data?, retry?}` (a JSON envelope or what `parse` returned). */
  function one(value: ParsedEvent): void {
    if (value.retry !== undefined) retry(value.retry)
    if (value.data === undefined) {
      if (value.id !== undefined) moveId(value.id)
      else if (value.retry === undefined) heartbeat()
      return
    }
    // A JSON envelope names its type `event`, as the SSE field; a parse result names it `type`.
    const { data } = value
    const type = (value as { event?: unknown }).event ?? value.type
    deliver(typeof type === 'string' && type ? type : 'message', typeof data === 'string' ? data : JSON.stringify(data), value.id)
  }

  const isEnvelope = (value: unknown): value is ParsedEvent => {
    if (typeof value !== 'object' || !value || Array.isArray(value)) return false
    let keys = 0
    for (const key in value) {
      if (!ENVELOPE[key]) return false
      keys++
    }
    return keys > 0
  }

  /**
   * JSON text: an envelope or a non-empty array of envelopes become events. On WebSocket (`auto`,
   * `json`) any other JSON is one `message` whose data is the frame, and so is text that is not
   * JSON in `auto`. A polling body (`body`) that is not envelopes is a `ProtocolError`.
   */
  function json(text: string, as: 'auto' | 'json' | 'body'): void {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      if (as === 'auto') return deliver('message', text, undefined)
      return warn(`${as === 'body' ? 'body' : 'frame'} is not JSON (${cause})`, cause)
    }
    if (isEnvelope(value) || (Array.isArray(value) && (as === 'body' || (value.length && value.every(isEnvelope))))) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (isEnvelope(item)) one(item)
        else warn('array item is not an {id?, event?, data, retry?} object: pass parse to read this format')
      }
    } else if (as !== 'body') deliver('message', text, undefined)
    else warn('body is not an {id?, event?, data, retry?} object or an array of them: pass parse to read this format')
  }

  function parsed(text: string, info: ParseInfo): void {
    let result: ReturnType<NonNullable<typeof parse>>
    try {
      result = parse!(text, info)
    } catch (cause) {
      return warn(`parse rejected a ${info.status ? 'body' : 'frame'}: ${cause}`, cause)
    }
    if (result == null) heartbeat()
    else if (Array.isArray(result)) {
      for (const item of result) one(item)
      if (!result.length) heartbeat()
    } else one(result)
  }

  return {
    stream(chunk) {
      blocks = 0
      parser.feed(chunk)
      return blocks
    },
    frame(text) {
      const before = produced
      if (text.length > maxEventSize) return warn(`frame of ${text.length} characters dropped, over maxEventSize (${maxEventSize})`)
      if (parse) parsed(text, { transport: name })
      else if (mode === 'text') deliver('message', text, undefined)
      else if (mode === 'sse' || midBlock || (mode === 'auto' && SSE_START.test(text))) {
        parser.feed(text)
        midBlock = !BLOCK_END.test(text)
        if (midBlock) return
      } else if (mode === 'json' || text[0] === '{' || text[0] === '[') json(text, mode === 'json' ? 'json' : 'auto')
      else deliver('message', text, undefined)
      if (produced === before) warn('frame dropped: it holds no event, id or heartbeat')
    },
    body(text, info) {
      if (text.length > maxEventSize) return warn(`body of ${text.length} characters dropped, over maxEventSize (${maxEventSize})`)
      if (parse) parsed(text, info)
      else json(text, 'body')
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
