// Server-sent events. By default over fetch streaming, so headers, Last-Event-ID, `retry`,
// comments and id-only blocks are in subwire's hands; over the native EventSource when fetch
// streaming is missing, when `eventsource: 'native'` asks for it, or ('auto') across origins where
// the server does not allow Last-Event-ID on a fetch (a CORS preflight it does not answer): the
// native object's own reconnects send that header without a preflight. (The native transport
// itself is in native.ts.)
import { stream } from './http'
import { lastEventIdHeader } from './last-event-id'
import { native } from './native'
import type { Transport } from './types'

export const eventsource: Transport = (context, sink) => {
  const { options, env, target } = context
  const auto = options.eventsource === 'auto'
  const canTurn = auto && !options.headers && options.method === 'GET' && !!env.EventSource
  return options.eventsource === 'native' || (auto && !env.fetch) || (canTurn && lastEventIdHeader(target, env) === false)
    ? native(context, sink)
    : stream(context, sink, canTurn ? () => native(context, sink, true) : undefined)
}
