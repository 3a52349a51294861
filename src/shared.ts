// What both entries, `subwire` and `subwire/core`, export besides their own: errors and types.
export {
  SubwireError,
  HttpError,
  ConnectionError,
  TimeoutError,
  ProtocolError,
  DecodeError,
} from './errors'
export type { ErrorKind, ErrorCode } from './errors'
export type {
  TransportName,
  State,
  StateChange,
  EventMap,
  EventOf,
  SubwireEvent,
  OpenInfo,
  ResetInfo,
  Provider,
  ProviderInfo,
  Decoder,
  RetryOptions,
  RetryFunction,
  RetryInfo,
  StatusAction,
  Parse,
  ParsedEvent,
  ParseInfo,
  LogRecord,
  Env,
} from './types'
