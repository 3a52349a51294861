// The WebSocket transport on its own: a scripted socket in, the sink calls it makes out.
import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/options'
import { websocket } from '../../src/transports/websocket'
import type { TransportContext, TransportSink } from '../../src/transports/types'

class Socket {
  static last: Socket
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  binaryType = 'blob'
  constructor(readonly url: string) {
    Socket.last = this
  }
  send() {}
  close() {}
}

/** A transport on a scripted socket, opened; `onCall(method, handle)` runs inside each sink call (user code, as the driver runs listeners there). */
async function open(onCall?: (method: string, handle: { close(): void }) => void) {
  const env = { WebSocket: Socket as never, location: 'http://localhost/', window: undefined }
  const options = resolveOptions('http://localhost/events', { transports: ['websocket'], env }, { websocket })
  const calls: string[] = []
  let handle: { close(): void } | undefined
  const sink = new Proxy({} as TransportSink, { get: (_, method: string) => () => (calls.push(method), onCall?.(method, handle!)) })
  const context: TransportContext = { name: 'websocket', env: options.env, options, target: options.nodes[0]!, url: async () => 'http://localhost/events', headers: async () => ({}), body: async () => undefined, lastEventId: () => '', types: () => [] }
  handle = websocket(context, sink)
  await Promise.resolve()
  await Promise.resolve()
  Socket.last.onopen!()
  calls.length = 0
  return { calls, frame: (data: string) => Socket.last.onmessage!({ data }) }
}

describe('websocket transport: what each frame reports', () => {
  it('a frame with an event reports the event alone (its activity is the event: one step of the machine per event)', async () => {
    const { calls, frame } = await open()
    frame('data: a\n\n')
    expect(calls).toEqual(['event'])
    frame('{"data":"b","id":"2"}')
    expect(calls).toEqual(['event', 'event'])
  })

  it('a frame with no event still shows activity: half an SSE block, a heartbeat comment', async () => {
    const { calls, frame } = await open()
    frame('data: half')
    expect(calls).toEqual(['activity'])
    frame('\n\n')
    expect(calls).toEqual(['activity', 'event'])
    frame(': hi\n\n')
    expect(calls).toEqual(['activity', 'event', 'heartbeat', 'activity'])
  })

  it('user code that closes the transport inside a frame with no event (an error listener on an unreadable frame): no activity reported after', async () => {
    const { calls, frame } = await open((method, handle) => method === 'warn' && handle.close())
    // A frame over maxEventSize (8 Mi characters by default) is reported, not read.
    frame('x'.repeat(8388609))
    expect(calls).toEqual(['warn'])
  })
})
