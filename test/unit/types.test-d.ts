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

  it('iterates typed events as a union discriminated on type', async () => {
    const sub = subscribe<{ price: Tick; news: Article }>('/events', { decode: 'json' })
    for await (const event of sub) {
      expectTypeOf(event).toEqualTypeOf<SubwireEvent<Tick, 'price'> | SubwireEvent<Article, 'news'>>()
      if (event.type === 'price') expectTypeOf(event.data).toEqualTypeOf<Tick>()
      else expectTypeOf(event.data).toEqualTypeOf<Article>()
    }
  })

  it('does not type data as objects when nothing decodes it', () => {
    // @ts-expect-error -- without decode, data is the text the server sent
    subscribe<{ price: Tick }>('/events')
    // @ts-expect-error -- decode: 'text' is text too
    subscribe<{ price: Tick }>('/events', { decode: 'text' })
    const text = subscribe<{ price: string }>('/events')
    text.on('price', (e) => expectTypeOf(e.data).toEqualTypeOf<string>())
    const decoded = subscribe<{ price: number }>('/events', { decode: (data) => Number(data) })
    decoded.on('price', (e) => expectTypeOf(e.data).toEqualTypeOf<number>())
  })

  it('takes one URL or a list of equivalent ones, and on() options', () => {
    const sub = subscribe(['https://a.example/events', 'https://b.example/events'])
    const controller = new AbortController()
    expectTypeOf(sub.on('message', () => {}, { once: true, signal: controller.signal })).toEqualTypeOf<Unbind>()
    expectTypeOf(sub.reconnect).toEqualTypeOf<() => void>()
  })

  it('rejects unknown options and transports', () => {
    // @ts-expect-error -- not a transport
    subscribe('/events', { transports: ['carrier-pigeon'] })
    // @ts-expect-error -- not a decode mode
    subscribe('/events', { decode: 'xml' })
  })
})

describe('Symbol.dispose', () => {
  it('a subscription is disposable (`using sub = subscribe(…)`), whatever the lib', () => {
    const sub = subscribe('/events')
    expectTypeOf(sub[Symbol.dispose]).toEqualTypeOf<() => void>()
  })
})
