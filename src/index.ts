/**
 * subwire: one browser client for server push over WebSocket, EventSource,
 * long polling and short polling.
 *
 * @packageDocumentation
 */
export { createParser, ParseError } from './parser'
export type { EventSourceMessage, Parser, ParserOptions, ParseErrorType } from './parser'
