// Long polling: a hanging GET that the server answers when it has events (or after its hold time,
// with nothing); the next request goes out as soon as the previous one is answered. A long poll
// proves itself by an answer, so it has `longPollTimeout` to do so, not `connectTimeout`.
import { polling } from './http'
import type { Transport } from './types'

export const longpoll: Transport = (context, sink) => polling(context, sink, true)
