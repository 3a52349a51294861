// The race of transports (happy eyeballs) where deployments differ from test servers: a proxy that
// holds every stream back (nginx's defaults), a server quiet for its first seconds, a path that
// starves an accepted stream. With scripted transports and fake timers.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { ConnectionError, type SubwireError } from '../../src/index'
import { say } from '../../src/text'
import { tick, URL_, world, type World } from '../fixtures/fake'

let w: World

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  w = world({ longpoll: 61000 })
})

const event = (k: number) => ({ type: 'message', data: `e${k}`, id: String(k), lastEventId: String(k) })

/** Thirty seconds of events from `from` on, one a second, on `connection`. */
async function deliverFor30s(connection: { sink: { event(e: ReturnType<typeof event>): void } }, from: number) {
  for (let k = from; k < from + 30; k++) {
    await tick(1000)
    connection.sink.event(event(k))
  }
}

describe('the race moves down while nothing proves itself', () => {
  it('a proxy that holds every stream back (nginx by default): long polling delivers within a few seconds and is used; remembered once the stream, still trying beside it, is seen to fail', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ onError: (e) => errors.push(e) }))
    await tick()
    // The upgrade is not passed on: the WebSocket fails at once.
    w.last('websocket').sink.close(new ConnectionError('refused', 'websocket'))
    await tick()
    expect(w.open().map((c) => c.name)).toEqual(['eventsource'])
    await tick(1500)
    // No answer to the stream within RACE: long polling starts beside it, and delivers.
    expect(w.open().map((c) => c.name)).toEqual(['eventsource', 'longpoll'])
    const longpoll = w.last('longpoll')
    longpoll.sink.event(event(1))
    expect(sub.transport).toBe('longpoll')
    expect(errors.map((e) => [e.code, e.transport]).at(-1)).toEqual(['held', 'eventsource'])
    // No answer may still be a slow start: not remembered yet, and the stream keeps trying.
    expect(w.storage.map.size).toBe(0)
    expect(w.open().map((c) => c.name)).toEqual(['eventsource', 'longpoll'])
    await deliverFor30s(longpoll, 2)
    // Thirty seconds of events on long polling, nothing at all on the stream: it failed.
    expect(w.open().map((c) => c.name)).toEqual(['longpoll'])
    expect(w.storage.map.get(`subwire:${URL_}`)).toMatch(/^longpoll /)
    sub.close()
    expect(w.open()).toEqual([])
  })

  it('a proxy that holds the WebSocket upgrade and the stream (no answer to either): the WebSocket failed (every server answers an upgrade at once), the stream is probed beside long polling, and long polling is remembered once the probe showed nothing', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ onError: (e) => errors.push(e) }))
    await tick()
    await tick(3000)
    expect(w.open().map((c) => c.name)).toEqual(['websocket', 'longpoll'])
    const longpoll = w.last('longpoll')
    longpoll.sink.event(event(1))
    expect(sub.transport).toBe('longpoll')
    expect(errors.map((e) => [e.code, e.transport])).toEqual([['held', 'websocket']])
    expect(w.open().map((c) => c.name)).toEqual(['longpoll', 'eventsource'])
    await deliverFor30s(longpoll, 2)
    expect(w.open().map((c) => c.name)).toEqual(['longpoll'])
    expect(w.storage.map.get(`subwire:${URL_}`)).toMatch(/^longpoll /)
    sub.close()
  })

  it('a server that routes the upgrade to its stream and answers only with its first event: the WebSocket is refused once the race has moved past the stream, and the stream it passed by is probed at once and moved up to', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ onError: (e) => errors.push(e) }))
    await tick()
    await tick(3000)
    // The race passed the stream by (dropped for long polling); nothing failed yet.
    expect(w.open().map((c) => c.name)).toEqual(['websocket', 'longpoll'])
    // The first event: the upgrade gets a 200 (refused), long polling delivers.
    w.last('websocket').sink.close(new ConnectionError(say('ws-refused'), 'websocket'))
    const longpoll = w.last('longpoll')
    longpoll.sink.event(event(1))
    expect(sub.transport).toBe('longpoll')
    expect(errors.map((e) => e.code)).toEqual(['ws-refused'])
    expect(w.open().map((c) => c.name)).toEqual(['longpoll', 'eventsource'])
    const probe = w.last('eventsource')
    probe.sink.open()
    probe.sink.event(event(1))
    // The same stream: moved up to it, from the last id.
    expect(w.open().map((c) => c.name)).toEqual(['eventsource'])
    expect(w.last('eventsource').from).toBe('1')
    sub.close()
  })

  it('a proxy that passes the headers and holds the data back: the stream is starved while long polling delivers, and long polling is remembered at once', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], onError: (e) => errors.push(e) }))
    await tick()
    w.last('eventsource').sink.open()
    await tick(1500)
    w.last('longpoll').sink.event(event(1))
    expect(sub.transport).toBe('longpoll')
    // Its own copy of the event may be a moment behind: RACE ms to show it.
    expect(errors).toEqual([])
    await tick(1500)
    expect(errors.map((e) => [e.code, e.transport])).toEqual([['starved', 'eventsource']])
    expect(w.storage.map.get(`subwire:${URL_}`)).toMatch(/^longpoll /)
    expect(w.open().map((c) => c.name)).toEqual(['longpoll'])
    sub.close()
  })

  it('an accepted stream whose copy of the first event comes a moment after the race winner delivered it: not starved, moved back up to, nothing remembered, no error', async () => {
    const errors: SubwireError[] = []
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource', 'longpoll'], onError: (e) => errors.push(e) }))
    await tick()
    const stream = w.last('eventsource')
    stream.sink.open()
    await tick(1500)
    w.last('longpoll').sink.event(event(1))
    expect(sub.transport).toBe('longpoll')
    await tick(20)
    stream.sink.event(event(1))
    expect(w.open().map((c) => c.name)).toEqual(['eventsource'])
    expect(w.last('eventsource').from).toBe('1')
    expect(errors).toEqual([])
    expect(w.storage.map.get(`subwire:${URL_}`) ?? '').not.toMatch(/^longpoll/)
    sub.close()
  })

  it('every stream held, long polling answers only empty: used, never remembered (nothing shows the streams failed)', async () => {
    const sub = w.subscribe(URL_, w.options())
    await tick()
    await tick(3000)
    expect(w.open().map((c) => c.name)).toEqual(['websocket', 'longpoll'])
    w.last('longpoll').sink.heartbeat()
    expect(sub.transport).toBe('longpoll')
    await tick(60_000)
    expect(w.storage.map.size).toBe(0)
    sub.close()
    expect(w.open()).toEqual([])
  })

  it('never onto short polling beside another transport (it proves itself by answering, whatever the path holds back)', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['websocket', 'eventsource', 'poll'] }))
    await tick()
    await tick(1500)
    await tick(3000)
    expect(w.open().map((c) => c.name)).toEqual(['websocket', 'eventsource'])
    sub.close()
  })

  it('a server quiet for its first seconds: the better transport, merely slow, keeps trying and wins back; only it is remembered', async () => {
    const sub = w.subscribe(URL_, w.options())
    await tick()
    w.last('websocket').sink.close(new ConnectionError('refused', 'websocket'))
    await tick()
    const stream = w.last('eventsource')
    await tick(1500)
    const longpoll = w.last('longpoll')
    // connectTimeout: no answer yet from the stream (its headers come with the first event).
    await tick(8500)
    expect(stream.closed).toBe(false)
    expect(w.storage.map.size).toBe(0)
    // The first event, twenty seconds in: on both.
    await tick(10000)
    longpoll.sink.event(event(1))
    stream.sink.open()
    stream.sink.event(event(1))
    await tick()
    // The stream showed the same event: the subscription moves up to it, and remembers it.
    expect(sub.transport).toBe('eventsource')
    w.last('eventsource').sink.open()
    w.last('eventsource').sink.event(event(2))
    expect(w.storage.map.get(`subwire:${URL_}`)).toMatch(/^eventsource /)
    sub.close()
  })

  it('a single transport that gets no answer within connectTimeout has twice as long on each attempt after (as the native EventSource waits), back to connectTimeout once it answered', async () => {
    const sub = w.subscribe(URL_, w.options({ transports: ['eventsource'] }))
    await tick()
    const first = w.last('eventsource')
    await tick(10000)
    expect(first.closed).toBe(true)
    await tick(2000)
    const second = w.last('eventsource')
    expect(second).not.toBe(first)
    await tick(second.at + 19000 - Date.now())
    expect(second.closed).toBe(false)
    // A proxy that releases its buffer (headers and all) 19 s in.
    second.sink.open()
    second.sink.event(event(1))
    expect(sub.state).toBe('open')
    second.sink.close()
    await tick(2000)
    const third = w.last('eventsource')
    expect(third).not.toBe(second)
    await tick(third.at + 10000 - Date.now())
    expect(third.closed).toBe(true)
    sub.close()
  })
})
