// The fetch transports: one GET with the subscription's headers, credentials and redirect rule;
// status checks; then either an SSE stream read as it arrives (`stream`, the eventsource
// transport) or a polling loop (`polling`, longpoll and poll) whose every request has a deadline
// that covers its whole body.
import { parseRetryAfter } from '../backoff'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError } from '../errors'
import { isSameOrigin } from '../url'
import { createFrames } from './frames'
import type { TransportContext, TransportHandle, TransportSink } from './types'

/** An empty long-poll answer faster than this was not held: the server is not long polling. */
export const MIN_HOLD = 1000
/** Fast empty long-poll answers in a row that make the transport fail. */
export const MAX_FAST_EMPTY = 5
/** A read carrying two or more heartbeat blocks after this long without bytes was held back on the way. */
export const HELD_GAP = 1000

/** The UTF-8 bytes of `text` as a byte string, the form a header value takes (as the native EventSource sends it). */
function byteString(text: string): string {
  let out = ''
  for (const byte of new TextEncoder().encode(text)) out += String.fromCharCode(byte)
  return out
}

export function toError(error: unknown, context: TransportContext): SubwireError {
  if (error instanceof SubwireError) return error
  return new ConnectionError(
    'network error or CORS rejection: is the server up, and does it send Access-Control-Allow-Origin for this origin?',
    context.name,
    undefined,
    error,
  )
}

/** The framing of a response: `sse`, `json`, `empty` (nothing to read), or `undefined` (wrong type). */
function framingOf(response: Response, parse: boolean): 'sse' | 'json' | 'empty' | undefined {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'text/event-stream') return 'sse'
  if (parse || type === 'application/json' || type.endsWith('+json')) return 'json'
  if (!type && response.headers.get('content-length') === '0') return 'empty'
  return undefined
}

function wrongType(response: Response, context: TransportContext): ProtocolError {
  const type = response.headers.get('content-type')
  return new ProtocolError(
    /html/i.test(type ?? '')
      ? 'an HTML page came back where events were expected (a login page or a proxy error page?): check url and the proxy'
      : `wrong Content-Type "${type ?? ''}": the server must answer text/event-stream${context.name === 'eventsource' ? '' : ' or application/json, or pass parse'}`,
    context.name,
    false,
  )
}

/** Let go of a body that will not be read. */
function discard(response: Response): void {
  response.body?.cancel().catch(() => {})
}

/**
 * Send one GET. `sse` asks for an event stream and sends the resume id as `Last-Event-ID` where
 * that costs no CORS preflight; otherwise the id travels as a query parameter. Resolves with a
 * 2xx response (or a poll's "nothing new": 204, 304, or a status the `statuses` option calls
 * `empty`); rejects with a typed error.
 */
async function send(context: TransportContext, signal: AbortSignal, sse: boolean, extra: Record<string, string> = {}): Promise<Response> {
  const { env, options } = context
  const user = await context.headers()
  const hasUser = Object.keys(user).length > 0
  const id = context.lastEventId()
  // The Last-Event-ID header is the SSE standard; across origins it would force a CORS preflight a
  // plain server does not answer, so there (and on every polling request) the id goes in the URL.
  const asHeader = sse && !!id && (hasUser || isSameOrigin(options.urls[context.name] ?? options.nodes[0]!, env.location))
  const url = await context.url(!asHeader)
  const headers: Record<string, string> = { ...user, ...extra }
  if (sse) headers.accept = 'text/event-stream'
  if (asHeader) headers['last-event-id'] = byteString(id)
  const manual = options.redirect === 'error' || (options.redirect === 'same-origin' && hasUser)
  const response = await env.fetch!(url, {
    headers,
    signal,
    credentials: options.withCredentials ? 'include' : 'same-origin',
    cache: 'no-store',
    redirect: manual ? 'manual' : 'follow',
  })
  if (response.type === 'opaqueredirect') {
    throw new SubwireError(
      'config',
      `the server redirected this request${hasUser ? ', which carries your headers' : ''}: point url at the final location, or pass redirect: 'follow' if that origin may see them`,
      context.name,
      false,
    )
  }
  const { status } = response
  if (status >= 200 && status < 300 && status !== 204) return response
  if (!sse && (status === 204 || status === 304 || options.statuses[status] === 'empty')) return response
  discard(response)
  throw new HttpError(status, context.name, parseRetryAfter(response.headers.get('retry-after'), env.now()))
}

/**
 * The `eventsource` transport over fetch streaming: one response read as it arrives; its end ends
 * the transport. Watches for a buffering proxy: a read that carries two or more heartbeat blocks
 * after a second of nothing held bytes back; the second time, the stream ends with a `buffered` error.
 */
export function stream(context: TransportContext, sink: TransportSink): TransportHandle {
  const { env } = context
  const frames = createFrames(context, sink)
  const controller = new AbortController()
  let done = false
  const stop = () => {
    done = true
    controller.abort()
    frames.end()
  }
  const finish = (error?: SubwireError) => done || (stop(), sink.close(error))

  ;(async () => {
    const response = await send(context, controller.signal, true)
    if (done) return
    if (framingOf(response, false) !== 'sse') {
      discard(response)
      throw wrongType(response, context)
    }
    sink.open({ status: response.status, headers: response.headers })
    const reader = response.body!.getReader()
    let last = env.now()
    let held = 0
    for (;;) {
      const { done: end, value } = await reader.read()
      if (done) return
      if (end) break
      const now = env.now()
      sink.activity()
      const blocks = frames.stream(value)
      if (done) return
      if (blocks > 1 && now - last >= HELD_GAP && (held += blocks - 1) > 1) {
        throw new SubwireError('buffered', 'events arrive in bursts: a proxy buffers the stream (ask for X-Accel-Buffering: no and Cache-Control: no-transform)', 'eventsource', true)
      }
      last = now
    }
    frames.end()
    finish()
  })().catch((error: unknown) => finish(toError(error, context)))

  return { close: () => done || stop() }
}

/**
 * Long polling (`hold`) and short polling. Each request has `longPollTimeout` for its whole
 * exchange, body included. An answer with events is followed by the next request at once
 * (`hold`) or after the interval; an empty answer ("nothing new": 204, 304, `[]`, an empty body)
 * proves a poll, and a long poll when it was held. Fast empty answers from a long poll make the
 * next request wait a floor that doubles each time, and the fifth in a row fails the transport.
 */
export function polling(context: TransportContext, sink: TransportSink, hold: boolean): TransportHandle {
  const { env, options } = context
  const frames = createFrames(context, { ...sink, retry: (ms) => sink.retry((retryField = ms)) })
  let done = false
  let opened = false
  let controller: AbortController | undefined
  let timer: unknown
  let etag: string | undefined
  let modified: string | undefined
  let retryField: number | undefined
  let empties = 0

  const stop = () => {
    done = true
    env.clearTimeout(timer)
    controller?.abort()
    frames.end()
  }
  const finish = (error?: SubwireError) => done || (stop(), sink.close(error))

  /** One request; resolves with the wait before the next one. */
  async function once(): Promise<number> {
    const my = (controller = new AbortController())
    let timedOut = false
    const started = env.now()
    timer = env.setTimeout(() => {
      timedOut = true
      my.abort()
    }, options.longPollTimeout)
    try {
      const conditional: Record<string, string> = {}
      if (etag) conditional['if-none-match'] = etag
      if (modified) conditional['if-modified-since'] = modified
      const response = await send(context, my.signal, false, conditional)
      if (done) return 0
      const before = frames.events
      const { status, headers } = response
      const framing = response.ok && status !== 204 ? framingOf(response, !!options.parse) : 'empty'
      if (!framing) {
        discard(response)
        throw wrongType(response, context)
      }
      if (!opened) {
        opened = true
        sink.open({ status, headers })
        if (done) return 0
      }
      etag = headers.get('etag') ?? etag
      modified = headers.get('last-modified') ?? modified
      if (framing === 'sse') {
        const reader = response.body!.getReader()
        for (;;) {
          const { done: end, value } = await reader.read()
          if (done) return 0
          if (end) break
          sink.activity()
          frames.stream(value)
          if (done) return 0
        }
        frames.end()
      } else if (framing === 'json') {
        const text = await response.text()
        if (done) return 0
        if (text.trim()) frames.body(text, { transport: context.name, status, headers })
        if (done) return 0
      } else discard(response)
      if (frames.events > before) {
        empties = 0
        return hold ? 0 : retryField ?? options.pollInterval
      }
      // Nothing new. A poll's empty answer is its normal "alive"; a long poll's only when it was held.
      empties++
      if (!hold) {
        sink.heartbeat()
        return Math.max(retryField ?? options.pollInterval, Math.min(Math.max(options.pollInterval, 1000), 125 * 2 ** empties))
      }
      if (env.now() - started >= MIN_HOLD) {
        empties = 0
        sink.heartbeat()
        return 0
      }
      if (empties >= MAX_FAST_EMPTY) {
        throw new ProtocolError(
          `answered at once with nothing ${empties} times in a row: not a long-poll endpoint (hold the request until there are events)`,
          context.name,
          false,
        )
      }
      return 250 * 2 ** empties
    } catch (error) {
      if (timedOut) throw new TimeoutError(`no complete answer within longPollTimeout (${options.longPollTimeout} ms)`, context.name)
      throw error
    } finally {
      env.clearTimeout(timer)
    }
  }

  const loop = () => {
    once().then(
      (wait) => {
        // Through a timer even at 0 ms: a server that answers at once must not starve the page.
        if (!done) timer = env.setTimeout(loop, wait)
      },
      (error: unknown) => finish(toError(error, context)),
    )
  }
  loop()

  return { close: () => done || stop(), proofTimeout: hold ? options.longPollTimeout : undefined, polls: true }
}
