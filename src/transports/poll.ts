// Short polling: a GET every `pollInterval` ms (the server's `retry` field, when it sends one,
// sets the next delay instead). The resume id is sent on every request; the last ETag and
// Last-Modified go back as If-None-Match and If-Modified-Since, and a 304 means nothing new.
import { polling } from './http'
import type { Transport } from './types'

export const poll: Transport = (context, sink) => polling(context, sink, false)
