/**
 * subwire/core: `createSubscribe` and the transports one by one, for apps that ship only the
 * transports they use. `subscribe` from `subwire` is this with all four.
 *
 * @example
 * import { createSubscribe, eventsource, longpoll } from 'subwire/core'
 * const subscribe = createSubscribe({ eventsource, longpoll })
 * const sub = subscribe('/events')
 *
 * // The smallest build: the browser's own EventSource, no fetch streaming.
 * import { createSubscribe, nativeEventSource } from 'subwire/core'
 * const subscribe = createSubscribe({ eventsource: nativeEventSource })
 *
 * @packageDocumentation
 */
export { createSubscribe } from './subscription'
export { negotiation } from './sides'
export type { Subscribe, Transports, Negotiation, Plugins, SubscribeOptions, Subscription, LifecycleEvents, ListenerOptions, Unbind } from './subscription'
export { websocket } from './transports/websocket'
export { eventsource } from './transports/eventsource'
export { nativeEventSource } from './transports/native'
export { longpoll } from './transports/longpoll'
export { poll } from './transports/poll'
export type { Transport, TransportContext, TransportSink, TransportHandle, OpenDetails } from './transports/types'
export type { Resolved } from './options'
export * from './shared'
