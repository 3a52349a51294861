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
 * The state of one parser, as data: the block being read (the spec's buffers) and the line carried
 * over from the last piece. The functions below work on it; they are module functions, not
 * closures, so the engine inlines them into the line loop (about 15 % faster on multi-line events).
 */
interface State {
  readonly o: ParserOptions
  readonly max: number
  decode: ((chunk: Uint8Array) => string) | undefined
  /** The data buffer (its lines joined with LF), and whether a `data` field came. */
  data: string
  hasData: boolean
  /** The event type buffer. */
  type: string
  /** This block's `id` field, if any. */
  id: string | undefined
  // spec: the last event ID buffer (set by `id` fields) and the last event ID string (set from the
  // buffer when a block ends: what a reconnect resumes from).
  buffer: string
  lastEventId: string
  /** The block went over `max`: the rest of it is dropped. */
  dropping: boolean
  /** No text fed yet (a BOM may come); a CR ended the last piece (an LF first in this one is its pair). */
  atStart: boolean
  skipLF: boolean
  /** The unfinished line carried over from the last piece; `tooBig`: it went over `max` and is dropped. */
  pending: string
  tooBig: boolean
  /** Moves on every clear(): a callback that starts a new stream stops the piece being split. */
  generation: number
}

/**
 * Create a streaming event-stream parser.
 *
 * @example
 * const parser = createParser({ onEvent: (e) => console.log(e.type, e.data) })
 * parser.feed('data: hello\n\n')
 */
export function createParser(options: ParserOptions): Parser {
  const p: State = { o: options, max: options.maxEventSize ?? 8388608, decode: undefined, data: '', hasData: false, type: '', id: undefined, buffer: '', lastEventId: '', dropping: false, atStart: true, skipLF: false, pending: '', tooBig: false, generation: 0 }
  return {
    feed(chunk) {
      const text = typeof chunk === 'string' ? chunk : (p.decode ??= utf8())(chunk)
      if (text) split(p, text)
    },
    end() {
      // spec: Once the end of the file is reached, any pending data must be discarded. (If the file
      // ends in the middle of an event, before the final empty line, the incomplete event is not
      // dispatched.) Its id field goes with it.
      clear(p)
      p.buffer = p.lastEventId
    },
    reset(initial = '') {
      clear(p)
      p.buffer = p.lastEventId = initial
    },
    get lastEventId() {
      return p.lastEventId
    },
  }
}

/** Drop every partial state: the block, the carried line, the decoder. */
function clear(p: State): void {
  p.generation++
  p.decode = p.id = undefined
  p.data = p.type = p.pending = ''
  p.hasData = p.dropping = p.skipLF = p.tooBig = false
  p.atStart = true
}

function overflow(p: State): void {
  if (!p.dropping) {
    p.dropping = true
    p.hasData = false
    p.data = ''
    p.o.onError?.(new ParseError('max-size', p.max))
  }
}

/** A blank line: the end of a block. */
function dispatch(p: State): void {
  // spec: Set the last event ID string […] to the value of the last event ID buffer. […] the type
  // is "message" unless the event type buffer has another value.
  const lastEventId = (p.lastEventId = p.buffer)
  const block = p.type
  const event: EventSourceMessage = { type: block || 'message', data: p.data, id: p.id, lastEventId }
  // spec: Set the data buffer and the event type buffer to the empty string.
  p.type = ''
  p.id = undefined
  if (p.hasData) {
    p.data = ''
    p.hasData = false
    p.o.onEvent(event)
  } else {
    // spec: If the data buffer is an empty string, set the data buffer and the event type buffer
    // to the empty string and return.
    const dropped = p.dropping
    p.dropping = false
    if (event.id !== undefined) p.o.onLastEventId?.(lastEventId)
    else if (!dropped) p.o.onEmptyBlock?.(block)
  }
}

function appendData(p: State, value: string): void {
  if (p.dropping) return
  // spec: Append the field value to the data buffer, then append a single U+000A LINE FEED (LF)
  // character to the data buffer. (The final LF is removed at dispatch; joining with LF is equal.)
  if (p.hasData) p.data += '\n' + value
  else {
    p.data = value
    p.hasData = true
  }
  if (p.data.length > p.max) overflow(p)
}

/**
 * One non-empty line, `text[start, end)`. `text[end]` is its line end or past the string, so a
 * look one character past a field name or a colon never needs a bounds check.
 */
function line(p: State, text: string, start: number, end: number): void {
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
    return appendData(p, text.slice(from, end))
  }
  // spec: If the line starts with a U+003A COLON character (:), ignore the line.
  if (first === COLON) return p.o.onComment?.(text.slice(text.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end))
  // spec: the field is what comes before the first colon and the value what follows it (one
  // leading space removed); a line without a colon is a field name with an empty value.
  let colon = start + 1
  while (colon < end && text.charCodeAt(colon) !== COLON) colon++
  const name = text.slice(start, colon)
  const value = colon === end ? '' : text.slice(text.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1, end)
  if (name === 'data') appendData(p, value)
  // spec: Set the event type buffer to field value.
  else if (name === 'event') p.type = value
  // spec: If the field value does not contain U+0000 NULL, set the last event ID buffer to it.
  else if (name === 'id') value.indexOf('\0') === -1 && (p.id = p.buffer = value)
  // spec: If the field value consists of only ASCII digits, it is the reconnection time.
  else if (name === 'retry') /^\d+$/.test(value) && p.o.onRetry?.(parseInt(value, 10))
  // spec: Otherwise: The field is ignored.
}

/**
 * The lines of the next piece of the stream (split anywhere): `line()` for each non-empty one,
 * `dispatch()` for each empty one. A line longer than `max` is dropped (`overflow()`) rather than
 * buffered. A callback that calls clear() stops the piece: nothing more of it belongs to the new stream.
 */
function split(p: State, text: string): void {
  if (p.atStart) {
    // spec: One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present.
    p.atStart = false
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  }
  const length = text.length
  let pos = 0
  if (p.skipLF) {
    // A CR ended the previous piece; an LF right after it belongs to the same line end.
    p.skipLF = false
    if (text.charCodeAt(0) === LF) pos = 1
  }
  // spec: Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
  // character pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE RETURN
  // (CR) character.
  // `lf` and `cr`: the first LF and CR at or after `pos`, or -1 when the piece has none left.
  let lf = text.indexOf('\n', pos)
  let cr = text.indexOf('\r', pos)
  const current = p.generation
  while (lf !== -1 || cr !== -1) {
    if (cr === -1 && !p.pending && !p.tooBig) {
      // The hot path: LF line ends only from here on, nothing carried over.
      do {
        if (lf === pos) dispatch(p)
        else line(p, text, pos, lf)
        pos = lf + 1
        if (p.generation !== current) return
      } while ((lf = text.indexOf('\n', pos)) !== -1)
      break
    }
    let end: number
    let next: number
    if (cr === -1 || (lf !== -1 && lf < cr)) {
      end = lf
      next = lf + 1
    } else {
      end = cr
      next = cr + 1
      if (next === length) p.skipLF = true
      else if (text.charCodeAt(next) === LF) next++
    }
    if (p.pending || p.tooBig) {
      // The first line end of this piece finishes the line carried over from the last one.
      const whole = p.pending + text.slice(pos, end)
      const dropped = p.tooBig
      p.pending = ''
      p.tooBig = false
      if (!dropped) line(p, whole, 0, whole.length)
    } else if (end === pos) {
      // spec: If the line is empty (a blank line): Dispatch the event.
      dispatch(p)
    } else line(p, text, pos, end)
    pos = next
    if (p.generation !== current) return
    if (lf < pos && lf !== -1) lf = text.indexOf('\n', pos)
    if (cr < pos && cr !== -1) cr = text.indexOf('\r', pos)
  }
  if (pos < length && !p.tooBig) {
    p.pending += pos === 0 ? text : text.slice(pos)
    if (p.pending.length > p.max) {
      p.pending = ''
      p.tooBig = true
      overflow(p)
    }
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
