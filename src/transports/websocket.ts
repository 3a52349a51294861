// WebSocket: each text frame is read as the `frames` option says (SSE field syntax, JSON
// envelopes, or one message per frame) or by `parse`; binary frames are UTF-8 bytes of an SSE
// stream (or text for `parse` and the json/text modes). The resume id travels as a query
// parameter, because browsers cannot set headers on a WebSocket; `handshake` messages go out
// after every open.
import { bound } from '../backoff'
import { ConnectionError, SubwireError, toError } from '../errors'
import { say } from '../text'
import { toWebSocketUrl } from '../url'
import { createFrames } from './frames'
import type { Transport } from './types'

export const websocket: Transport = (context, sink) => {
  const { env, options } = context
  const frames = createFrames(context, sink)
  const bytesAreSse = !options.parse && (options.frames === 'auto' || options.frames === 'sse')
  let socket: WebSocket | undefined
  let done = false
  let opened = false
  // Development: binary frames are SSE bytes here; JSON sent as binary frames delivers nothing. Told once.
  let hinted = false
  const hint = (bytes: Uint8Array) => {
    if (!hinted && options.frames === 'auto' && (bytes[0] === 0x7b || bytes[0] === 0x5b)) {
      hinted = true
      console.warn("subwire: websocket: a binary frame that looks like JSON: in frames: 'auto' binary frames are read as the bytes of an SSE stream, so this delivers nothing. Send text frames, or pass frames: 'json'")
    }
    return bytes
  }

  // Reports at most once; after close() the socket's late events change nothing.
  // Idempotent; the socket is let go however the attempt ends (a handshake that failed leaves it open).
  const stop = () => {
    done = true
    frames.end()
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null
      socket.close(1000)
    }
  }
  const finish = (error?: SubwireError) => done || (stop(), sink.close(error))

  context
    .url(true)
    .then((url) => {
      if (done) return
      const s = (socket = new env.WebSocket!(toWebSocketUrl(url), options.protocols))
      s.binaryType = 'arraybuffer'
      s.onopen = () => {
        if (done) return
        opened = true
        sink.open()
        if (done || !options.handshake) return
        // User code: what it gives may not be sendable (a value whose conversion to text throws).
        try {
          for (const message of [options.handshake({ lastEventId: context.lastEventId() }) ?? []].flat()) if (!done) s.send(message)
        } catch (cause) {
          finish(new SubwireError('provider', say('provider', 'handshake', cause), 'websocket', true, cause))
        }
      }
      s.onmessage = ({ data }: MessageEvent) => {
        if (done) return
        const events = frames.events
        if (typeof data === 'string') frames.frame(data)
        else if (bytesAreSse) frames.stream(__DEV__ ? hint(new Uint8Array(data as ArrayBuffer)) : new Uint8Array(data as ArrayBuffer))
        else frames.frame(new TextDecoder().decode(data as ArrayBuffer))
        // A frame that delivered an event showed activity by it (one step per event, not two).
        if (!done && frames.events === events) sink.activity()
      }
      s.onclose = ({ code, reason }: CloseEvent) =>
        finish(
          // A clean close (1000, 1001) ends the stream like an SSE response that ended.
          opened && (code === 1000 || code === 1001)
            ? undefined
            : new ConnectionError(
                opened ? say('ws-closed', code, reason) : say('ws-refused'),
                'websocket',
                code,
                undefined,
                serverDelay(code, reason),
              ),
        )
    })
    .catch((error: unknown) => finish(toError(error, context.name)))

  return { close: () => done || stop() }
}

/**
 * The server's say on the next delay: 1012 (Service Restart) means come back soon; 1013 (Try Again
 * Later) means wait, as many seconds as the close reason says when it is a number (at most one
 * hour), else 5 s.
 */
function serverDelay(code: number, reason: string): number | undefined {
  if (code === 1012) return 1000
  if (code === 1013) return /^\d+$/.test(reason) ? bound(Number(reason) * 1000) : 5000
  return undefined
}
