import { describe, expectTypeOf, it } from 'vitest'
import { subscribe, type SubwireError, type StateChange, type SubwireEvent, type Unbind } from '../../src/index'

interface Tick {
  symbol: string
  price: number
}
interface Article {
  title: string
}

describe('public types', () => {
  it('types data per event name from the generic map', () => {
    const sub = subscribe<{ price: Tick; news: Article }>('/events', { decode: 'json' })
    sub.on('price', (e) => {
      expectTypeOf(e.data).toEqualTypeOf<Tick>()
      expectTypeOf(e.type).toEqualTypeOf<'price'>()
      expectTypeOf(e.lastEventId).toEqualTypeOf<string>()
      expectTypeOf(e.id).toEqualTypeOf<string | undefined>()
    })
    sub.on('news', (e) => expectTypeOf(e.data).toEqualTypeOf<Article>())
    // @ts-expect-error -- not in the map
    sub.on('weather', () => {})
  })

  it('defaults to text data', () => {
    const sub = subscribe('/events')
    sub.on('message', (e) => expectTypeOf(e.data).toEqualTypeOf<string>())
  })

  it('types lifecycle events', () => {
    const sub = subscribe('/events')
    expectTypeOf(sub.on('error', (error) => expectTypeOf(error).toEqualTypeOf<SubwireError>())).toEqualTypeOf<Unbind>()
    sub.on('state', (change) => expectTypeOf(change).toEqualTypeOf<StateChange>())
    sub.on('open', (info) => expectTypeOf(info.transport).toEqualTypeOf<'websocket' | 'eventsource' | 'longpoll' | 'poll'>())
  })

  it('iterates typed events', async () => {
    const sub = subscribe<{ price: Tick }>('/events', { decode: 'json' })
    for await (const event of sub) expectTypeOf(event).toEqualTypeOf<SubwireEvent<Tick, 'price'>>()
  })

  it('rejects unknown options and transports', () => {
    // @ts-expect-error -- not a transport
    subscribe('/events', { transports: ['carrier-pigeon'] })
    // @ts-expect-error -- not a decode mode
    subscribe('/events', { decode: 'xml' })
  })
})
