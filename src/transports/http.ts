// What the HTTP transports share: one fetch with the subscription's headers, credentials and
// timeout; status checks; a body read in chunks into the frame reader, by content type.
import { parseRetryAfter } from '../backoff'
import { ConnectionError, HttpError, ProtocolError, SubwireError, TimeoutError } from '../errors'
import { isSameOrigin, withParams } from '../url'
import { createFrames, type Frames } from './frames'
import type { TransportContext, TransportHandle, TransportSink } from './types'

/**
 * Start a GET for this transport. Rejects with a typed error. `timeout` (ms) aborts the request
 * when no response headers arrived in time; `sse` sends `Accept: text/event-stream` and the
 * resume id as `Last-Event-ID` when that costs no CORS preflight.
 */
export async function get(
  context: TransportContext,
  controller: AbortController,
  extra: Record<string, string>,
  sse: boolean,
  timeout?: number,
): Promise<Response> {
  const [base, userHeaders] = await Promise.all([context.url(), context.headers()])
  const id = context.lastEventId()
  const headers: Record<string, string> = { ...userHeaders, ...extra }
  let url = base
  // The Last-Event-ID header is the SSE standard; across origins it would force a CORS
  // preflight a plain server does not answer, so there (and on every polling transport) the
  // resume id travels as a query parameter instead.
  const header = sse && (isSameOrigin(base, context.env.location) || Object.keys(userHeaders).length > 0)
  if (sse) headers.accept = 'text/event-stream'
  if (id && header) headers['last-event-id'] = id
  else url = withParams(base, { [context.lastEventIdParam]: id || undefined })
  const env = context.env
  let timer: unknown
  let timedOut = false
  if (timeout) {
    timer = env.setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeout)
  }
  try {
    const response = await env.fetch!(url, {
      headers,
      signal: controller.signal,
      credentials: context.withCredentials ? 'include' : 'same-origin',
      cache: 'no-store',
    })
    if (response.status >= 300 && response.status !== 304) {
      discard(response)
      throw new HttpError(response.status, context.name, parseRetryAfter(response.headers.get('retry-after'), env.now()))
    }
    return response
  } catch (error) {
    if (timedOut) throw new TimeoutError(`no response within ${timeout} ms`, context.name)
    throw toError(error, context)
  } finally {
    env.clearTimeout(timer)
  }
}

export function toError(error: unknown, context: TransportContext): SubwireError {
  if (error instanceof Error && 'kind' in error) return error as SubwireError
  return new ConnectionError(`request failed: ${String(error)}`, context.name, undefined, error)
}

/** `text/event-stream` (also `text/plain`) → SSE; `application/json` → JSON; anything else → undefined. */
function framingOf(response: Response): 'sse' | 'json' | undefined {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'text/event-stream' || type === 'text/plain') return 'sse'
  if (type === 'application/json' || type.endsWith('+json')) return 'json'
  return undefined
}

function wrongType(response: Response, context: TransportContext): ProtocolError {
  return new ProtocolError(`wrong Content-Type "${response.headers.get('content-type')}" (a proxy or login page?)`, context.name, false)
}

/**
 * Read a body to its end, feeding SSE chunks as they come or collecting JSON (bounded by
 * maxEventSize). `onChunk` runs after every chunk (liveness). Resolves when the body ends.
 */
async function readBody(
  response: Response,
  framing: 'sse' | 'json',
  frames: Frames,
  context: TransportContext,
  onChunk: () => void,
): Promise<void> {
  const body = response.body!
  const reader = body.getReader()
  const decoder = framing === 'json' ? new TextDecoder() : undefined
  let json = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (!decoder) frames.sse(value)
    else {
      json += decoder.decode(value, { stream: true })
      if (json.length > context.maxEventSize) {
        void reader.cancel().catch(() => {})
        throw new ProtocolError(`JSON body larger than maxEventSize (${context.maxEventSize})`, context.name)
      }
    }
    onChunk()
  }
  if (decoder) {
    json += decoder.decode()
    if (json.trim()) frames.json(json)
  }
}

/**
 * Every fetch-based transport. With `wait` it is a polling loop (`longpoll`, `poll`): GET, read
 * the body into the frames, ask again after `wait()` ms (0 = at once). Without it, it is the SSE
 * stream of the `eventsource` transport: one response read as it arrives, whose end ends the
 * transport. An HTTP error, a wrong content type, a timeout or a network failure ends the
 * transport with that error.
 *
 * On the SSE stream it also watches for a buffering proxy: two heartbeat comments are sent at
 * least one heartbeat interval apart, so a read that carries two or more of them was held back on
 * the way. The second such read ends the transport with a `buffered` error.
 */
export function fetchLoop(
  context: TransportContext,
  sink: TransportSink,
  timeout?: number,
  wait?: (retryField: number | undefined) => number,
): TransportHandle {
  let done = false
  let controller: AbortController | undefined
  let timer: unknown
  let opened = false
  let etag: string | undefined
  let retryField: number | undefined
  let comments = 0
  let held = 0
  const env = context.env
  const frames = createFrames(
    context,
    {
      ...sink,
      retry(ms) {
        retryField = ms
        sink.retry(ms)
      },
    },
    () => comments++,
  )

  const stop = () => {
    done = true
    env.clearTimeout(timer)
    controller?.abort()
  }

  const finish = (error?: SubwireError) => {
    if (done) return
    stop()
    sink.close(error)
  }

  const onChunk = () => {
    if (done) return
    sink.activity()
    if (!wait && comments > 1 && ++held > 1) {
      finish(new SubwireError('buffered', 'events arrive in bursts (a proxy buffers the stream)', 'eventsource', true))
    }
    comments = 0
  }

  async function once(): Promise<void> {
    controller = new AbortController()
    const response = await get(context, controller, etag ? { 'if-none-match': etag } : {}, !wait, timeout)
    if (done) return
    const status = response.status
    const framing = framingOf(response)
    // spec (SSE): a 204 No Content status stops reconnection. To a poll, 204 and 304 mean "nothing new".
    if (!wait && status === 204) throw new HttpError(204, context.name)
    const empty = status === 204 || status === 304 || (!framing && response.headers.get('content-length') === '0')
    if (!wait ? framing !== 'sse' : !framing && !empty) {
      discard(response)
      throw wrongType(response, context)
    }
    if (!opened) {
      opened = true
      sink.open()
    }
    if (wait) sink.activity()
    etag = response.headers.get('etag') ?? etag
    if (!empty) {
      await readBody(response, framing!, frames, context, onChunk)
      frames.end()
    }
  }

  const loop = () => {
    once().then(
      () => {
        if (done) return
        // Through a timer even at 0 ms: a server that answers at once must not starve the page.
        if (wait) timer = env.setTimeout(loop, wait(retryField))
        else finish()
      },
      (error: unknown) => finish(toError(error, context)),
    )
  }
  loop()

  return { close: () => done || stop() }
}

/** Let go of a body that will not be read. */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => {})
}
