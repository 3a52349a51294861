// The WebSocket transport on its own: a scripted socket in, the sink calls it makes out.
import { describe, expect, it, vi } from 'vitest'
import { resolveOptions } from '../../src/options'
import { websocket } from '../../src/transports/websocket'
import type { TransportContext, TransportSink } from '../../src/transports/types'
import type { SubscribeOptions } from '../../src/options'
import type { EventSourceMessage } from '../../src/parser'
import type { SubwireError } from '../../src/errors'
import { DEV, expectSaid } from '../fixtures/said'

class Socket {
  static last: Socket
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  binaryType = 'blob'
  closed: number[] = []
  sent: unknown[] = []
  constructor(readonly url: string) {
    Socket.last = this
  }
  send(message: unknown) {
    this.sent.push(String(message))
  }
  close(code: number) {
    this.closed.push(code)
  }
}

/** A transport on a scripted socket, opened; `onCall(method, handle)` runs inside each sink call (user code, as the driver runs listeners there). */
async function open(onCall?: (method: string, handle: { close(): void }) => void, more: SubscribeOptions = {}, opened = true) {
  const env = { WebSocket: Socket as never, location: 'http://localhost/', window: undefined }
  const options = resolveOptions('http://localhost/events', { transports: ['websocket'], env, ...more }, { websocket })
  const calls: string[] = []
  const values: unknown[] = []
  let handle: { close(): void } | undefined
  const sink = new Proxy({} as TransportSink, { get: (_, method: string) => (value: unknown) => (calls.push(method), values.push(value), onCall?.(method, handle!)) })
  const context: TransportContext = { name: 'websocket', env: options.env, options, target: options.nodes[0]!, url: async () => 'http://localhost/events', headers: async () => ({}), body: async () => undefined, lastEventId: () => '', types: () => [] }
  handle = websocket(context, sink)
  await Promise.resolve()
  await Promise.resolve()
  if (opened) {
    Socket.last.onopen!()
    calls.length = values.length = 0
  }
  return { calls, values, frame: (data: string) => Socket.last.onmessage!({ data }) }
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

  it('plain text messages that start like SSE (a smiley, a data: URL) are messages, as a plain WebSocket server means them, until a frame in SSE syntax (a line end, or a field written `name: value`)', async () => {
    const { calls, values, frame } = await open()
    frame(':)')
    frame(':-( see you')
    frame('data:image/png;base64,iVBORw0KGgo=')
    expect(calls).toEqual(['event', 'event', 'event'])
    expect((values as EventSourceMessage[]).map((m) => m.data)).toEqual([':)', ':-( see you', 'data:image/png;base64,iVBORw0KGgo='])
    frame(': hi\n\n')
    expect(calls.slice(3)).toEqual(['heartbeat', 'activity'])
    // Once the connection speaks SSE, a frame may split a block anywhere.
    frame('data:x')
    frame('\n\n')
    expect(calls.slice(5)).toEqual(['activity', 'event'])
  })

  it('user code that closes the transport inside a frame with no event (an error listener on an unreadable frame): no activity reported after', async () => {
    const { calls, frame } = await open((method, handle) => method === 'warn' && handle.close())
    // A frame over maxEventSize (8 Mi characters by default) is reported, not read.
    frame('x'.repeat(8388609))
    expect(calls).toEqual(['warn'])
  })
})

describe('websocket transport: user code in a frame (parse, handshake) can do anything', () => {
  it('parse returning what is not an event (null in a list, data that JSON cannot write) skips those items and reports the frame once; the others in the frame are delivered, nothing is thrown', async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const results: Record<string, unknown> = {
      nulls: [null, { data: 'a', id: '1' }, undefined],
      cyclic: [{ data: cyclic, id: '2' }, { data: 'b', id: '3' }],
      bigint: [{ data: 10n }, { data: 'c' }],
      number: 7,
    }
    const { calls, values, frame } = await open(undefined, { parse: (text) => results[text] as never })
    for (const text of Object.keys(results)) expect(() => frame(text)).not.toThrow()
    const data = values.filter((_, i) => calls[i] === 'event').map((m) => (m as EventSourceMessage).data)
    expect(data).toEqual(['a', 'b', 'c'])
    const warned = values.filter((_, i) => calls[i] === 'warn') as SubwireError[]
    // One report per frame (one unreadable frame, however many items were not events): nulls, cyclic, bigint, number.
    expect(warned.map((e) => [e.code, e.kind])).toEqual(Array(4).fill(['parse-failed', 'protocol']))
    expectSaid(warned[0], 'parse-failed', /^websocket: parse threw, or gave what is not an event: null$/)
  })

  it('parse that throws: reported once for the frame (not again as an empty frame), the stream goes on', async () => {
    let n = 0
    const { calls, frame } = await open(undefined, {
      parse: (text) => {
        if (++n === 1) throw new Error('bad frame')
        return { data: text }
      },
    })
    expect(() => frame('x')).not.toThrow()
    frame('y')
    expect(calls).toEqual(['warn', 'activity', 'event'])
  })

  it('a frame that is not JSON where frames: json is asked is reported once (not again as an empty frame)', async () => {
    const { calls, values, frame } = await open(undefined, { frames: 'json' })
    frame('not json')
    expect(calls).toEqual(['warn', 'activity'])
    expect((values[0] as SubwireError).code).toBe('not-json')
  })

  /** A transport with this handshake on a scripted socket, opened: the sink calls it made, and the handle. */
  async function shake(handshake: NonNullable<SubscribeOptions['handshake']>) {
    const env = { WebSocket: Socket as never, location: 'http://localhost/', window: undefined }
    const options = resolveOptions('http://localhost/events', { transports: ['websocket'], env, handshake }, { websocket })
    const calls: Array<[string, unknown]> = []
    const sink = new Proxy({} as TransportSink, { get: (_, method: string) => (value: unknown) => void calls.push([method, value]) })
    const context: TransportContext = { name: 'websocket', env: options.env, options, target: options.nodes[0]!, url: async () => 'http://localhost/events', headers: async () => ({}), body: async () => undefined, lastEventId: () => '', types: () => [] }
    const handle = websocket(context, sink)
    await Promise.resolve()
    await Promise.resolve()
    expect(() => Socket.last.onopen!()).not.toThrow()
    return { calls, handle }
  }

  it.each([
    ['throws', () => {
      throw new Error('no token')
    }],
    ['gives a message that cannot become text', () => ['hello', { toString: () => { throw new Error('no token') } }] as never],
  ])('a handshake that %s ends the attempt with a provider error (retryable) after the open, and closes its socket', async (_, handshake) => {
    const { calls, handle } = await shake(handshake)
    expect(calls.map(([m]) => m)).toEqual(['open', 'close'])
    const error = calls[1]![1] as SubwireError
    expect([error.kind, error.retryable, (error.cause as Error).message]).toEqual(['provider', true, 'no token'])
    expect(Socket.last.closed).toEqual([1000])
    handle.close()
    expect(Socket.last.closed).toEqual([1000])
  })

  it('a handshake that closes the transport as it runs (user code): nothing is sent, the socket goes, nothing is reported after', async () => {
    let handle: { close(): void } | undefined
    const { calls } = await open(
      (_, h) => void (handle = h),
      {
        handshake: () => {
          handle!.close()
          return ['a', 'b']
        },
      },
      false,
    )
    Socket.last.onopen!()
    expect(calls).toEqual(['open'])
    expect(Socket.last.sent).toEqual([])
    expect(Socket.last.closed).toEqual([1000])
  })

  it('a handshake sends each of its messages once the socket opens', async () => {
    const { calls } = await shake(({ lastEventId }) => ['a', `from ${lastEventId || 'start'}`])
    expect(calls.map(([m]) => m)).toEqual(['open'])
    expect(Socket.last.sent).toEqual(['a', 'from start'])
  })

})

describe('websocket transport: binary frames', () => {
  it('binary frames that look like JSON in frames: auto (read as SSE bytes, so nothing arrives) are told once in the console, in the development build only', async () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const { calls } = await open()
      const bytes = (text: string) => new TextEncoder().encode(text).buffer
      Socket.last.onmessage!({ data: bytes('{"data":"a"}') })
      Socket.last.onmessage!({ data: bytes('{"data":"b"}') })
      expect(calls).toEqual(['activity', 'activity'])
      expect(warned).toHaveBeenCalledTimes(DEV ? 1 : 0)
      if (DEV) expect(String(warned.mock.calls[0]![0])).toMatch(/binary.*frames: 'json'/)
      // SSE bytes in binary frames are what 'auto' reads: nothing told.
      const other = await open()
      Socket.last.onmessage!({ data: bytes('data: c\n\n') })
      expect(other.calls).toEqual(['event'])
      expect(warned).toHaveBeenCalledTimes(DEV ? 1 : 0)
    } finally {
      warned.mockRestore()
    }
  })
})
