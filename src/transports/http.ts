// The fetch transports: one request (GET, or the subscription's method and body) with its headers, credentials and redirect rule;
// status checks; then either an SSE stream read as it arrives (`stream`, the eventsource
// transport) or a polling loop (`polling`, longpoll and poll) whose every request has a deadline
// that covers its whole body.
import { parseRetryAfter } from '../backoff'
import { HttpError, ProtocolError, SubwireError, TimeoutError, toError } from '../errors'
import { say } from '../text'
import { createFrames, type Frames } from './frames'
import { allowHeader, lastEventIdHeader, queryOk, refuseHeader, refuseQuery } from './last-event-id'
import type { TransportContext, TransportHandle, TransportSink } from './types'

/** An empty long-poll answer faster than this was not held: the server is not long polling. */
export const MIN_HOLD = 1000
/** Fast empty long-poll answers in a row that make the transport fail. */
export const MAX_FAST_EMPTY = 5
/** A read carrying two or more heartbeat blocks after this long without bytes was held back on the way. */
export const HELD_GAP = 1000

/** Let go of a body that will not be read. */
const discard = (response: Response) => void response.body?.cancel().catch(() => {})

/** Thrown by `send` when `probe` asked to hear of a refused header rather than retry without it. */
export const REFUSED = Symbol()

/**
 * Send one request (the subscription's method and body; GET by default), with the resume id: for
 * an event stream as the standard `Last-Event-ID` header where it can go (the URL stays as given,
 * as the native EventSource sends it): on the page's own origin always; across origins it costs a
 * CORS preflight, so it is tried, and a request that fails with it is sent once more with the id in
 * the query instead (and the origin remembered as not allowing the header); for a poll, and where
 * the header cannot go, in the query (`lastEventIdParam`). `probe` (the 'auto'
 * eventsource, which has the native EventSource to turn to) asks at the very first request,
 * with an empty header, and rejects with `REFUSED` instead of retrying. Resolves with a 2xx
 * response (or a poll's "nothing new": 204, 304, or a status `statuses` calls `empty`) of a
 * content type the transport reads (`sse`: text/event-stream only); rejects with a typed error.
 */
async function send(context: TransportContext, signal: AbortSignal, sse: boolean, extra: Record<string, string> = {}, probe = false): Promise<Response> {
  const { env, options, name, target } = context
  const user = await context.headers()
  const body = await context.body()
  const hasUser = Object.keys(user).length > 0
  const id = context.lastEventId()
  const known = lastEventIdHeader(target, env)
  const header = sse && known !== false && (!!id || (probe && known === undefined))
  // The resume id goes in the query only where the header does not carry it (for an event stream,
  // unless its URL was seen to take no query).
  let queried = !header && (!sse || queryOk(target))
  const url = await context.url(queried)
  const request = (withHeader: boolean, href = url) =>
    env.fetch!(href, {
      method: options.method,
      body: body ?? null,
      headers: {
        ...user,
        ...extra,
        ...(sse && { accept: 'text/event-stream' }),
        // A header value is bytes: the id's UTF-8 bytes, as the native EventSource sends it.
        ...(withHeader && { 'last-event-id': String.fromCharCode(...new TextEncoder().encode(id)) }),
      },
      signal,
      credentials: options.withCredentials ? 'include' : 'same-origin',
      cache: 'no-store',
      redirect: options.redirect === 'error' || (options.redirect === 'same-origin' && hasUser) ? 'manual' : 'follow',
    })
  let response: Response
  try {
    response = await request(header)
    if (header && !known) allowHeader(target)
  } catch (error) {
    if (!header || known || signal.aborted) throw error
    if (probe) throw REFUSED
    response = await request(false, await context.url((queried = queryOk(target))))
    refuseHeader(target)
  }
  // An event stream not found with the id in its query: a plain server that routes on the exact
  // URL. Asked once more as given (the replay check drops what it sends again), and from now on.
  if (sse && queried && id && response.status === 404) {
    discard(response)
    refuseQuery(target)
    response = await request(false, await context.url(false))
  }
  const { status, type } = response
  if (type === 'opaqueredirect') {
    throw new SubwireError('config', say('redirect'), name, false)
  }
  const empty = status === 204 || status === 304 || options.statuses[status] === 'empty'
  if ((status > 199 && status < 300 && status !== 204) || (!sse && empty)) {
    const contentType = response.headers.get('content-type') ?? ''
    // (An event stream answered with JSON: a long-poll endpoint; `stream` reads its answer.)
    if (empty || /^text\/event-stream|^application\/(.*\+)?json/i.test(contentType) || (!sse && (!contentType || options.parse))) return response
    discard(response)
    throw new ProtocolError(/html/i.test(contentType) ? say('html') : say('content-type', contentType, sse), name, false)
  }
  discard(response)
  throw new HttpError(status, name, parseRetryAfter(response.headers.get('retry-after'), env.now()))
}

/** A whole body as text, or `undefined` (the rest cancelled) once it passes `limit` bytes. */
async function bodyText(response: Response, limit: number): Promise<string | undefined> {
  const reader = response.body?.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let size = 0
  for (;;) {
    const { done, value } = (await reader?.read()) ?? { done: true }
    if (done) return text + decoder.decode()
    if ((size += value.length) > limit) return void reader!.cancel().catch(() => {})
    text += decoder.decode(value, { stream: true })
  }
}

/**
 * Read an event-stream body into `frames` as it arrives. Returns `false` when the transport was
 * closed meanwhile. `onRead(blocks)` runs after each read with the heartbeat blocks it held.
 */
async function read(response: Response, frames: Frames, sink: TransportSink, done: () => boolean, onRead?: (blocks: number) => void): Promise<boolean> {
  const reader = response.body!.getReader()
  for (;;) {
    const { done: end, value } = await reader.read()
    if (done()) return false
    if (end) return frames.end(), true
    sink.activity()
    const blocks = frames.stream(value)
    if (done()) return false
    onRead?.(blocks)
  }
}

/**
 * One poll answer, read whole (up to maxEventSize) into `frames` (an empty body is nothing new);
 * `false` when the transport was closed meanwhile. Also an answer a long-poll endpoint gave an
 * event-stream request.
 */
async function answer(context: TransportContext, frames: Frames, response: Response, done: () => boolean): Promise<boolean> {
  const text = await bodyText(response, context.options.maxEventSize)
  if (done()) return false
  if (text?.trim() !== '') frames.body(text, { transport: context.name, status: response.status, headers: response.headers })
  return !done()
}

/**
 * The `eventsource` transport over fetch streaming: one response read as it arrives; its end ends
 * the transport. Watches for a buffering proxy: a read that carries two or more heartbeat blocks
 * after a second of nothing held bytes back; the second time, the stream ends with a `buffered` error.
 */
export function stream(context: TransportContext, sink: TransportSink, refused?: () => TransportHandle): TransportHandle {
  const { env, name } = context
  const frames = createFrames(context, sink)
  const controller = new AbortController()
  let done = false
  let instead: TransportHandle | undefined
  const stop = () => {
    done = true
    controller.abort()
    frames.end()
    instead?.close()
  }
  const finish = (error?: SubwireError) => done || (stop(), sink.close(error))

  ;(async () => {
    let response: Response
    try {
      response = await send(context, controller.signal, true, {}, !!refused)
    } catch (error) {
      // The origin does not allow Last-Event-ID over fetch: the native EventSource instead.
      if (error !== REFUSED || done) throw error
      return void (instead = refused!())
    }
    if (done) return
    const { status, headers } = response
    const type = headers.get('content-type')!
    if (!/^text\/event-stream/i.test(type)) {
      // A long-poll endpoint answered (JSON): a server that answers what comes after each request
      // gave this answer to no other request, so its events are delivered; then this transport
      // fails, and the next (long polling) goes on.
      if (await answer(context, frames, response, () => done)) finish(new ProtocolError(say('content-type', type, true), name, false))
      return
    }
    sink.open({ status, headers })
    let last = env.now()
    let held = 0
    if (
      await read(response, frames, sink, () => done, (blocks) => {
        const now = env.now()
        if (blocks > 1 && now - last >= HELD_GAP && (held += blocks - 1) > 1) {
          finish(new SubwireError('buffered', say('buffered'), 'eventsource', true))
        }
        last = now
      })
    ) {
      finish()
    }
  })().catch((error: unknown) => finish(toError(error, context.name)))

  return { close: () => done || stop() }
}

/**
 * Long polling (`hold`) and short polling. Each request has `longPollTimeout` for its whole
 * exchange, body included. An answer with events is followed by the next request at once
 * (`hold`) or after the interval; an empty answer ("nothing new": 204, 304, `[]`, an empty body,
 * or events that do not move the resume point) proves a poll, and a long poll when it was held.
 * Fast empty answers from a long poll make the next request wait a floor that doubles each time,
 * and the fifth in a row fails the transport.
 * The last ETag and Last-Modified go back as If-None-Match and If-Modified-Since.
 */
export function polling(context: TransportContext, sink: TransportSink, hold: boolean): TransportHandle {
  const { env, options, name } = context
  let retryField: number | undefined
  // The data of the last event an answer carried.
  let last: string | undefined
  const frames = createFrames(context, { ...sink, retry: (ms) => sink.retry((retryField = ms)), event: (m) => sink.event(((last = m.data), m)) })
  let done = false
  let controller: AbortController | undefined
  let timer: unknown
  let etag: string | null = null
  let modified: string | null = null
  let empties = 0

  const stop = () => {
    done = true
    env.clearTimeout(timer)
    controller?.abort()
    frames.end()
  }
  const finish = (error?: SubwireError) => done || (stop(), sink.close(error))

  /** One request; resolves with the wait before the next one (or -1 when closed meanwhile). */
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
      const from = context.lastEventId()
      const response = await send(context, my.signal, false, conditional)
      if (done) return -1
      const before = frames.events
      const was = last
      const { status, headers, ok } = response
      // Every answer opens: each request resumed from the last id, and what a server that ignores
      // the resume id sends again is checked for replays (dropped) as after any reconnect.
      sink.open({ status, headers })
      if (done) return -1
      etag = headers.get('etag') ?? etag
      modified = headers.get('last-modified') ?? modified
      if (!ok || status === 204) discard(response)
      else if (!options.parse && /^text\/event-stream/i.test(headers.get('content-type')!)) {
        if (!(await read(response, frames, sink, () => done))) return -1
      } else if (!(await answer(context, frames, response, () => done))) return -1
      // One answer (oneShot): the first that brought events is the whole of it.
      if (options.oneShot && frames.events > before) return finish(), -1
      // New events move the resume point (or the server uses no ids), or end with other data than
      // the answer before (ids that name the stream, not a place in it). Events that do neither (a
      // server that ignores the resume id and repeats itself) are nothing new.
      if (frames.events > before && (!from || context.lastEventId() !== from || last !== was)) {
        empties = 0
        // News: ask again at once (or after the server's `retry`), as long as the resume point
        // moved; a short poll of a server without ids waits its interval.
        return retryField ?? (hold || context.lastEventId() !== from ? 0 : options.pollInterval)
      }
      // Nothing new: a poll's normal answer; a long poll's only when it was held.
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
      if (empties < MAX_FAST_EMPTY) return 250 * 2 ** empties
      throw new ProtocolError(say('not-long-poll', empties), name, false)
    } catch (error) {
      throw timedOut ? new TimeoutError(say('poll-timeout', options.longPollTimeout), name) : error
    } finally {
      env.clearTimeout(timer)
    }
  }

  const loop = () => {
    once().then(
      // Through a timer even at 0 ms: a server that answers at once must not starve the page.
      (wait) => done || (timer = env.setTimeout(loop, wait)),
      (error: unknown) => finish(toError(error, context.name)),
    )
  }
  loop()

  return { close: () => done || stop(), proofTimeout: hold ? options.longPollTimeout + MIN_HOLD : undefined, polls: true }
}
