// Short polling: a GET every `pollInterval` ms (the server's `retry` field, when it sends one,
// sets the next delay instead). The resume id is sent on every request; an ETag is sent back as
// If-None-Match and a 304 means nothing new.
import { fetchLoop } from './http'
import type { Transport } from './types'

export const poll: Transport = (context, sink) =>
  fetchLoop(context, sink, context.longPollTimeout, (retryField) => retryField ?? context.pollInterval)
