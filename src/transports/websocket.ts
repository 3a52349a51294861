// WebSocket: text frames carry SSE field syntax (or JSON when the frame starts with `{` or `[`);
// binary frames are UTF-8 bytes of the same SSE stream. The resume id travels as a query
// parameter, because browsers cannot set headers on a WebSocket.
import { ConnectionError, type SubwireError } from '../errors'
import { toWebSocketUrl, withParams } from '../url'
import { createFrames } from './frames'
import { toError } from './http'
import type { Transport } from './types'

export const websocket: Transport = (context, sink) => {
  const frames = createFrames(context, sink)
  let socket: WebSocket | undefined
  let done = false
  let opened = false

  // Reports at most once; after close() the socket's late events change nothing.
  const finish = (error?: SubwireError) => done || ((done = true), sink.close(error))

  context
    .url()
    .then((url) => {
      if (done) return
      const WS = context.env.WebSocket!
      const id = context.lastEventId()
      const s = (socket = new WS(toWebSocketUrl(withParams(url, { [context.lastEventIdParam]: id || undefined }))))
      s.binaryType = 'arraybuffer'
      s.onopen = () => {
        opened = true
        sink.open()
      }
      s.onmessage = ({ data }: MessageEvent) => {
        if (done) return
        sink.activity()
        if (typeof data !== 'string') frames.sse(new Uint8Array(data as ArrayBuffer))
        else if (data[0] === '{' || data[0] === '[') frames.json(data)
        else frames.sse(data)
      }
      s.onclose = ({ code, reason }: CloseEvent) =>
        // A clean close (1000, 1001) ends the stream like an SSE response that ended: reconnect.
        finish(
          opened && (code === 1000 || code === 1001)
            ? undefined
            : new ConnectionError(
                opened ? `closed with code ${code}${reason ? ` (${reason})` : ''}` : 'could not connect (upgrade refused or network error)',
                'websocket',
                code,
                undefined,
                serverDelay(code, reason),
              ),
        )
    })
    .catch((error: unknown) => finish(toError(error, context)))

  return {
    close() {
      done = true
      socket?.close(1000)
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
