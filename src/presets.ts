/**
 * subwire/presets: option sets for servers that speak their own dialect. A preset is options,
 * nothing more: everything it does, your own options can do too. Not part of the `subwire`
 * bundle; import it where you need it.
 *
 * @example
 * import { subscribe } from 'subwire'
 * import { nchan } from 'subwire/presets'
 * const sub = subscribe(['https://a.example/sub/prices', 'https://b.example/sub/prices'], nchan({ decode: 'json' }))
 *
 * @packageDocumentation
 */
import type { SubscribeOptions } from './options'
import type { ParsedEvent, ParseInfo } from './types'

/**
 * Reads nchan's WebSocket frames (`ws+meta.nchan`: `id:` and `content-type:` lines, a blank line,
 * then the message) and its poll answers (one message per answer; its id is the answer's
 * `Last-Modified` in seconds and its `Etag`: `<time>:<index>`, as nchan's own ids are).
 */
export function nchanParse(text: string, { transport, headers }: ParseInfo): ParsedEvent {
  if (transport === 'websocket') {
    const split = text.indexOf('\n\n')
    if (split < 0) return { data: text }
    const id = /^id: (.*)$/m.exec(text.slice(0, split))?.[1]
    return { id, data: text.slice(split + 2) }
  }
  const modified = Date.parse(headers?.get('last-modified') ?? '')
  const etag = headers?.get('etag')
  return { data: text, id: modified === modified && etag != null ? `${modified / 1000}:${etag}` : undefined }
}

/**
 * Options for nchan (the nginx module: WebSocket, EventSource, long polling and interval polling
 * on one location, a message buffer for resume, channels shared between nginx nodes through Redis).
 * Pass the subscriber location's URL (or several nodes' URLs); interval polling needs a location of
 * its own (`nchan_subscriber intervalpoll`): give it as `urls: { poll: … }`.
 *
 * - resume on every transport by `?last_event_id=` (nchan reads it on all four);
 * - WebSocket with the `ws+meta.nchan` subprotocol, so each message carries its id;
 * - poll answers read as one message each, with the id from `Last-Modified` and `Etag`;
 * - a long-poll timeout (408) is "nothing new", and a deleted channel (410) is retried;
 * - nchan's keepalive (`event: ping` without data) is a heartbeat, never delivered.
 *
 * Your options win over the preset's (`statuses` are merged).
 */
export function nchan<O extends SubscribeOptions = {}>(options?: O): Omit<SubscribeOptions, 'decode'> & O {
  return {
    lastEventIdParam: 'last_event_id',
    protocols: 'ws+meta.nchan',
    parse: nchanParse,
    heartbeatEvents: ['ping'],
    ...options,
    statuses: { 408: 'empty', 410: 'retry', ...options?.statuses },
  } as unknown as Omit<SubscribeOptions, 'decode'> & O
}
