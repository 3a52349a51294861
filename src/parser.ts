/**
 * A streaming parser for the `text/event-stream` format, as specified by the
 * WHATWG HTML Standard, section 9.2.6 "Interpreting an event stream".
 *
 * Pure: strings or bytes in, callbacks out. No timers, no globals except
 * `TextDecoder` (only when fed bytes). Every transport of subwire shares it.
 *
 * @packageDocumentation
 */

/** One dispatched event, as the spec's "dispatch the event" step builds it. */
export interface EventSourceMessage {
  /** The `event` field of the block, or `'message'` when absent or empty. */
  type: string
  /** The `data` lines of the block joined with `\n`. */
  data: string
  /** The `id` field of this block, or `undefined` when the block had none. */
  id: string | undefined
  /** The last event ID string after this event: the resume point. */
  lastEventId: string
}

/** What went wrong while parsing. Only over-size input is an error; the format has no other. */
export type ParseErrorType = 'max-size'

/** A typed error reported through `onError`; the parser always goes on. */
export class ParseError extends Error {
  override readonly name = 'ParseError' as const
  /** Why the input was rejected. */
  readonly type: ParseErrorType
  /** The limit that was exceeded, in UTF-16 code units. */
  readonly limit: number
  constructor(type: ParseErrorType, limit: number) {
    super(
      `event over maxEventSize (${limit}) dropped`,
    )
    this.type = type
    this.limit = limit
  }
}

/** Callbacks and limits for {@link createParser}. */
export interface ParserOptions {
  /** Called for every dispatched event (a block ended by a blank line that has data). */
  onEvent(event: EventSourceMessage): void
  /** Called with a valid `retry` field, in milliseconds. */
  onRetry?(ms: number): void
  /** Called with the text of a comment line (`: keepalive`), one leading space removed. */
  onComment?: ((text: string) => void) | undefined
  /** Called when input is rejected; the offending event is dropped and parsing goes on. */
  onError?(error: ParseError): void
  /**
   * Called when a block that dispatched no event (no data, or dropped for its
   * size) ended with an `id` field: the resume point moved without an event.
   */
  onLastEventId?(lastEventId: string): void
  /**
   * Called when a block without data and without an `id` ended: nothing is
   * dispatched (spec), but the server is alive. `type` is the block's `event`
   * field (`''` for a comment-only block or a stray blank line); a keepalive
   * such as `event: ping` with no data arrives here.
   */
  onEmptyBlock?(type: string): void
  /**
   * Upper bound, in UTF-16 code units, on one line and on one event's data
   * while it is buffered. Bigger events are dropped with a `ParseError`.
   * @default 8388608 (8 Mi characters): far above any sane event, small enough to bound memory.
   */
  maxEventSize?: number
}

/** A streaming event-stream parser. */
export interface Parser {
  /** Feed the next piece of the stream: a string, or bytes decoded as UTF-8. Never throws on any input. */
  feed(chunk: string | Uint8Array): void
  /** End of stream: an unfinished block is discarded, as the spec requires. `lastEventId` is kept. */
  end(): void
  /** Start a new stream: drops every partial state and sets the last event ID (default `''`). */
  reset(lastEventId?: string): void
  /**
   * The last event ID string: the id in force at the last dispatched block, the value to resume
   * from. An `id` field of a block that has not ended yet does not count.
   */
  readonly lastEventId: string
}

const STREAM = { stream: true }
const NO_BOM = { ignoreBOM: true }
const LF = 10
const COLON = 58
const SPACE = 32

/**
 * Create a streaming event-stream parser.
 *
 * @example
 * const parser = createParser({ onEvent: (e) => console.log(e.type, e.data) })
 * parser.feed('data: hello\n\n')
 */
export function createParser(options: ParserOptions): Parser {
  const { onEvent, onRetry, onComment, onError, onLastEventId, onEmptyBlock, maxEventSize = 8388608 } = options

  let decode: ((chunk: Uint8Array) => string) | undefined
  let data = ''
  let hasData = false
  let type = ''
  let id: string | undefined
  // spec: the last event ID buffer (set by `id` fields) and the last event ID string (set from the
  // buffer when a block ends: what a reconnect resumes from).
  let buffer = ''
  let lastEventId = ''
  let dropping = false

  function overflow(): void {
    if (!dropping) {
      dropping = true
      hasData = false
      data = ''
      onError?.(new ParseError('max-size', maxEventSize))
    }
  }

  function dispatch(): void {
    // spec: Set the last event ID string […] to the value of the last event ID buffer. […] the type
    // is "message" unless the event type buffer has another value.
    lastEventId = buffer
    const block = type
    const event: EventSourceMessage = { type: block || 'message', data, id, lastEventId }
    // spec: Set the data buffer and the event type buffer to the empty string.
    type = ''
    id = undefined
    if (hasData) {
      data = ''
      hasData = false
      onEvent(event)
    } else {
      // spec: If the data buffer is an empty string, set the data buffer and the event type buffer
      // to the empty string and return.
      const dropped = dropping
      dropping = false
      if (event.id !== undefined) onLastEventId?.(lastEventId)
      else if (!dropped) onEmptyBlock?.(block)
    }
  }

  function appendData(value: string): void {
    if (dropping) return
    // spec: Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
    // character to the data buffer. (The final LF is removed at dispatch; joining with LF is equal.)
    if (hasData) data += '\n' + value
    else {
      data = value
      hasData = true
    }
    if (data.length > maxEventSize) overflow()
  }

  /**
   * One non-empty line, `text[start, end)`. `text[end]` is its line end or past the string, so a
   * look one character past a field name or a colon never needs a bounds check.
   */
  function line(text: string, start: number, end: number): void {
    const first = text.charCodeAt(start)
    // The hot path: "data:" at the start of the line.
    if (
      first === 100 &&
      text.charCodeAt(start + 4) === COLON &&
      text.charCodeAt(start + 1) === 97 &&
      text.charCodeAt(start + 2) === 116 &&
      text.charCodeAt(start + 3) === 97
    ) {
      let from = start + 5
      // spec: If value starts with a U+0020 SPACE character, remove it from value.
      if (text.charCodeAt(from) === SPACE) from++
      return appendData(text.slice(from, end))
    }
    // spec: If the line starts with a U+003A COLON character (:), ignore the line.
    if (first === COLON) return onComment?.(text.slice(text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end))
    // spec: the field is what comes before the first colon and the value what follows it (one
    // leading space removed); a line without a colon is a field name with an empty value.
    let colon = start + 1
    while (colon < end && text.charCodeAt(colon) !== COLON) colon++
    const name = text.slice(start, colon)
    const value = colon === end ? '' : text.slice(text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1, end)
    if (name === 'data') appendData(value)
    // spec: Set the event type buffer to field value.
    else if (name === 'event') type = value
    // spec: If the field value does not contain U+0000 NULL, set the last event ID buffer to it.
    else if (name === 'id') value.indexOf('\0') === -1 && (id = buffer = value)
    // spec: If the field value consists of only ASCII digits, it is the reconnection time.
    else if (name === 'retry') /^\d+$/.test(value) && onRetry?.(parseInt(value, 10))
    // spec: Otherwise: The field is ignored.
  }

  const lines = createLines(line, dispatch, maxEventSize, overflow)

  function clear(): void {
    lines.clear()
    decode = id = undefined
    data = type = ''
    hasData = dropping = false
  }

  return {
    feed(chunk) {
      const text = typeof chunk === 'string' ? chunk : (decode ??= utf8())(chunk)
      if (text) lines.feed(text)
    },
    end() {
      // spec: Once the end of the file is reached, any pending data must be discarded. (If the file
      // ends in the middle of an event, before the final empty line, the incomplete event is not
      // dispatched.) Its id field goes with it.
      clear()
      buffer = lastEventId
    },
    reset(initial = '') {
      clear()
      buffer = lastEventId = initial
    },
    get lastEventId() {
      return lastEventId
    },
  }
}

/**
 * The lines of a stream fed in pieces split anywhere: `line(text, start, end)` for each non-empty
 * one, `blank()` for each empty one (the end of a block). A line longer than `maxEventSize` is
 * dropped (`overflow()`) rather than buffered. `clear()` starts a new stream; a callback may call
 * it, and then nothing more of the piece being split belongs to the new stream.
 */
function createLines(line: (text: string, start: number, end: number) => void, blank: () => void, maxEventSize: number, overflow: () => void) {
  let atStart = true
  let skipLF = false
  let pending = ''
  let pendingTooBig = false
  let generation = 0

  return {
    feed(text: string): void {
      if (atStart) {
        // spec: One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present.
        atStart = false
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      }
      const length = text.length
      let pos = 0
      if (skipLF) {
        // A CR ended the previous piece; an LF right after it belongs to the same line end.
        skipLF = false
        if (text.charCodeAt(0) === LF) pos = 1
      }
      // spec: Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
      // character pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE RETURN
      // (CR) character.
      // `lf` and `cr`: the first LF and CR at or after `pos`, or -1 when the piece has none left.
      let lf = text.indexOf('\n', pos)
      let cr = text.indexOf('\r', pos)
      const current = generation
      while (lf !== -1 || cr !== -1) {
        let end: number
        let next: number
        if (cr === -1 || (lf !== -1 && lf < cr)) {
          end = lf
          next = lf + 1
        } else {
          end = cr
          next = cr + 1
          if (next === length) skipLF = true
          else if (text.charCodeAt(next) === LF) next++
        }
        if (pending || pendingTooBig) {
          // The first line end of this piece finishes the line carried over from the last one.
          const whole = pending + text.slice(pos, end)
          const dropped = pendingTooBig
          pending = ''
          pendingTooBig = false
          if (!dropped) line(whole, 0, whole.length)
        } else if (end === pos) {
          // spec: If the line is empty (a blank line): Dispatch the event.
          blank()
        } else {
          line(text, pos, end)
          // A blank line right after this one (the usual end of an event) is taken without a search.
          if (text.charCodeAt(next) === LF && generation === current) {
            blank()
            next++
          }
        }
        pos = next
        // A callback called clear(): nothing more of this piece belongs to the new stream.
        if (generation !== current) return
        if (lf < pos && lf !== -1) lf = text.indexOf('\n', pos)
        if (cr < pos && cr !== -1) cr = text.indexOf('\r', pos)
      }
      if (pos < length && !pendingTooBig) {
        pending += pos === 0 ? text : text.slice(pos)
        if (pending.length > maxEventSize) {
          pending = ''
          pendingTooBig = true
          overflow()
        }
      }
    },
    clear(): void {
      generation++
      atStart = true
      skipLF = false
      pending = ''
      pendingTooBig = false
    },
  }
}

/**
 * A UTF-8 decoder for one stream. An incomplete sequence at the end of a chunk is held back and put
 * in front of the next one, so every call decodes whole characters and needs no streaming state:
 * a one-shot `decode()` is several times faster on ASCII in some engines (Node 20: 5×) and gives
 * the same text. After the first non-ASCII chunk the streaming mode is used, faster there.
 */
function utf8(): (chunk: Uint8Array) => string {
  const decoder = new TextDecoder('utf-8', NO_BOM)
  let ascii = true
  let tail: Uint8Array | undefined
  return (chunk) => {
    let bytes = chunk
    if (tail) {
      bytes = new Uint8Array(tail.length + chunk.length)
      bytes.set(tail)
      bytes.set(chunk, tail.length)
      tail = undefined
    }
    let end = bytes.length
    let lead = end
    while (lead > end - 4 && (bytes[--lead]! & 0xc0) === 0x80);
    const b = bytes[lead]!
    // A lead byte whose sequence (2, 3 or 4 bytes) does not fit: keep it and what follows it.
    if (b >= 0xc0 && (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) > end - lead) {
      tail = bytes.slice(lead)
      end = lead
    }
    // spec: Event streams are always decoded as UTF-8. (Invalid bytes become U+FFFD; a leading BOM
    // is removed by the line splitter, once per stream.)
    const text = decoder.decode(end < bytes.length ? bytes.subarray(0, end) : bytes, ascii ? undefined : STREAM)
    if (text.length !== end) ascii = false
    return text
  }
}
