// WebSocket: text frames carry SSE field syntax (or JSON when the frame starts with `{` or `[`);
// binary frames are UTF-8 bytes of the same SSE stream. The resume id travels as a query
// parameter, because browsers cannot set headers on a WebSocket.
import { ConnectionError } from '../errors'
import { toWebSocketUrl, withParams } from '../url'
import { createFrames } from './frames'
import type { Transport } from './types'

export const websocket: Transport = (context, sink) => {
  const frames = createFrames(context, sink)
  let socket: WebSocket | undefined
  let done = false
  let opened = false

  function detach(): WebSocket | undefined {
    const s = socket
    if (s) s.onopen = s.onmessage = s.onclose = s.onerror = null
    return s
  }

  function finish(error?: ConnectionError): void {
    if (done) return
    done = true
    detach()
    frames.stop()
    sink.close(error)
  }

  context.url().then(
    (url) => {
      if (done) return
      const WS = context.env.WebSocket!
      const id = context.lastEventId()
      const s = (socket = new WS(toWebSocketUrl(withParams(url, { [context.lastEventIdParam]: id || undefined }))))
      s.binaryType = 'arraybuffer'
      s.onopen = () => {
        opened = true
        sink.open()
      }
      s.onmessage = (message: MessageEvent) => {
        sink.activity()
        const data: unknown = message.data
        if (typeof data === 'string') {
          const first = data.charCodeAt(0)
          if (first === 123 || first === 91) frames.json(data)
          else frames.sse(data)
        } else frames.sse(new Uint8Array(data as ArrayBuffer))
      }
      s.onclose = (event: CloseEvent) => {
        // A clean close (1000, 1001) ends the stream like an SSE response that ended: reconnect.
        if (opened && (event.code === 1000 || event.code === 1001)) return finish()
        finish(
          new ConnectionError(
            opened ? `closed with code ${event.code}${event.reason ? ` (${event.reason})` : ''}` : 'could not connect (upgrade refused or network error)',
            'websocket',
            event.code,
            undefined,
            serverDelay(event.code, event.reason),
          ),
        )
      }
      // An error is always followed by close, which reports it.
      s.onerror = () => {}
    },
    (error: unknown) => finish(new ConnectionError(`could not prepare the connection: ${String(error)}`, 'websocket', undefined, error)),
  )

  return {
    close() {
      if (done) return
      done = true
      frames.stop()
      const s = detach()
      try {
        s?.close(1000)
      } catch {
        // already closing
      }
    },
  }
}

/**
 * The server's say on the next delay: 1012 (Service Restart) means come back soon; 1013 (Try Again
 * Later) means wait, as many seconds as the close reason says when it is a number, else 5 s.
 */
function serverDelay(code: number, reason: string): number | undefined {
  if (code === 1012) return 1000
  if (code === 1013) return /^\d+$/.test(reason) ? parseInt(reason, 10) * 1000 : 5000
  return undefined
}
