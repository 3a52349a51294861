/**
 * subwire: one browser client for server push over WebSocket, EventSource, long polling and
 * short polling, with resume from the last event id.
 *
 * @packageDocumentation
 */
export { subscribe } from './subscription'
export type { SubscribeOptions, Subscription, LifecycleEvents, Unbind } from './subscription'
export {
  SubwireError,
  HttpError,
  ConnectionError,
  TimeoutError,
  ProtocolError,
  DecodeError,
} from './errors'
export type { ErrorKind } from './errors'
export type {
  TransportName,
  State,
  StateChange,
  EventMap,
  SubwireEvent,
  Provider,
  Decoder,
  RetryOptions,
  RetryFunction,
  Env,
} from './types'
export { createParser, ParseError } from './parser'
export type { EventSourceMessage, Parser, ParserOptions, ParseErrorType } from './parser'
