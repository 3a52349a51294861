// Long polling: a hanging GET that the server answers when it has events (or after its hold time
// with an empty 204); the next request goes out as soon as the previous one is answered. Bodies
// use the SSE field syntax, or JSON when the content type says so.
import { fetchLoop } from './http'
import type { Transport } from './types'

export const longpoll: Transport = (context, sink) =>
  fetchLoop(context, sink, context.longPollTimeout, () => 0)
