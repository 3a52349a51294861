/**
 * subwire: one browser client for server push over WebSocket, EventSource, long polling and
 * short polling, with resume from the last event id.
 *
 * @packageDocumentation
 */
import { negotiation } from './sides'
import { createSubscribe, type Plugins, type Subscribe } from './subscription'
import { eventsource } from './transports/eventsource'
import { longpoll } from './transports/longpoll'
import { poll } from './transports/poll'
import { websocket } from './transports/websocket'

/**
 * Subscribe to the events a server pushes at `url`, over the first of WebSocket, EventSource,
 * long polling and polling that works here.
 *
 * @example
 * const sub = subscribe<{ price: { symbol: string; price: number } }>('/events', { decode: 'json' })
 * sub.on('price', (e) => console.log(e.data.price))
 */
export const subscribe = /* @__PURE__ */ createSubscribe({ websocket, eventsource, longpoll, poll }, { negotiation })

/**
 * A `subscribe` like the one above, with plug-ins: sharing across tabs (`subwire/tabs`). Make it
 * once, in a module of your own, and use it everywhere.
 *
 * @example
 * import { subscribeWith } from 'subwire'
 * import { tabs } from 'subwire/tabs'
 * export const subscribe = subscribeWith({ tabs })
 */
export const subscribeWith = (plugins: Omit<Plugins, 'negotiation'>): Subscribe =>
  createSubscribe({ websocket, eventsource, longpoll, poll }, { ...plugins, negotiation })
export type { SubscribeOptions, Subscription, LifecycleEvents, ListenerOptions, Unbind, Subscribe, Plugins } from './subscription'
export * from './shared'
export { createParser, ParseError } from './parser'
export type { EventSourceMessage, Parser, ParserOptions, ParseErrorType } from './parser'
