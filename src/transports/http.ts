// What the HTTP transports share: one fetch with the subscription's headers, credentials and
// timeout; status checks; a body read in chunks into the frame reader, by content type.
import { parseRetryAfter } from '../backoff'
import { ConnectionError, HttpError, ProtocolError, TimeoutError, type SubwireError } from '../errors'
import { isSameOrigin, withParams } from '../url'
import { createFrames, type Frames } from './frames'
import type { TransportContext, TransportSink } from './types'

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
export function framingOf(response: Response): 'sse' | 'json' | undefined {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type === 'text/event-stream' || type === 'text/plain') return 'sse'
  if (type === 'application/json' || type.endsWith('+json')) return 'json'
  return undefined
}

export function wrongType(response: Response, context: TransportContext): ProtocolError {
  return new ProtocolError(`wrong Content-Type "${response.headers.get('content-type')}" (a proxy or login page?)`, context.name, false)
}

/**
 * Read a body to its end, feeding SSE chunks as they come or collecting JSON (bounded by
 * maxEventSize). `onChunk` runs for every chunk (liveness). Resolves when the body ends.
 */
export async function readBody(
  response: Response,
  framing: 'sse' | 'json',
  frames: Frames,
  context: TransportContext,
  onChunk: () => void,
): Promise<void> {
  const body = response.body
  if (!body) {
    const text = await response.text()
    onChunk()
    if (framing === 'sse') frames.sse(text)
    else if (text.trim()) frames.json(text)
    return
  }
  const reader = body.getReader()
  const decoder = framing === 'json' ? new TextDecoder() : undefined
  let json = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    onChunk()
    if (!decoder) frames.sse(value)
    else {
      json += decoder.decode(value, { stream: true })
      if (json.length > context.maxEventSize) {
        void reader.cancel().catch(() => {})
        throw new ProtocolError(`JSON body larger than maxEventSize (${context.maxEventSize})`, context.name)
      }
    }
  }
  if (decoder) {
    json += decoder.decode()
    if (json.trim()) frames.json(json)
  }
}

/**
 * The polling loop behind `longpoll` and `poll`: GET, read the body into the frames, then ask
 * again — at once (`wait` returns 0) or after a delay. An HTTP error, a wrong content type, a
 * timeout or a network failure ends the transport with that error.
 */
export function pollLoop(
  context: TransportContext,
  sink: TransportSink,
  timeout: number,
  wait: (retryField: number | undefined) => number,
): { close(): void } {
  let done = false
  let controller: AbortController | undefined
  let timer: unknown
  let opened = false
  let etag: string | undefined
  let retryField: number | undefined
  const env = context.env
  const frames = createFrames(context, {
    ...sink,
    retry(ms) {
      retryField = ms
      sink.retry(ms)
    },
  })

  const finish = (error?: SubwireError) => {
    if (done) return
    done = true
    frames.stop()
    controller?.abort()
    sink.close(error)
  }

  async function once(): Promise<void> {
    controller = new AbortController()
    const response = await get(context, controller, etag ? { 'if-none-match': etag } : {}, false, timeout)
    if (done) return
    if (!opened) {
      opened = true
      sink.open()
    }
    sink.activity()
    etag = response.headers.get('etag') ?? etag
    // 204, 304 and an empty 200 mean "nothing new": ask again.
    if (response.status === 204 || response.status === 304) return
    const framing = framingOf(response)
    if (!framing) {
      if (response.headers.get('content-length') === '0') return
      discard(response)
      throw wrongType(response, context)
    }
    await readBody(response, framing, frames, context, () => done || sink.activity())
    frames.end()
  }

  const loop = () => {
    timer = undefined
    once().then(
      () => {
        if (done) return
        // Through a timer even at 0 ms: a server that answers at once must not starve the page.
        timer = env.setTimeout(loop, wait(retryField))
      },
      (error: unknown) => finish(toError(error, context)),
    )
  }
  loop()

  return {
    close() {
      if (done) return
      done = true
      env.clearTimeout(timer)
      frames.stop()
      controller?.abort()
    },
  }
}

/** Let go of a body that will not be read. */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => {})
}
