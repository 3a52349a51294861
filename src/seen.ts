// The events delivered last, by id, so that what a server replays after a reconnect is not
// delivered twice. A server that ignores the resume point (it reads only a header that could not be
// sent, or it restarted) sends old events again: they come with an id delivered before and the same
// data. An id delivered before with other data means the server's ids started again from scratch:
// that event is new. Pure; bounded to the last SIZE events with an id that is not empty (and, in the development
// build, the last SIZE without one, to tell a server that replays events it gave no ids).

/** Events remembered. */
export const SIZE = 1000

export interface Seen {
  /** An event with an id was delivered. */
  add(id: string, data: string): void
  /**
   * Delivered before (same id, same data): its place in the order delivered (from 1, larger is later);
   * `false`: the same id with other data; `undefined`: not among the last SIZE.
   */
  has(id: string, data: string): number | false | undefined
  /** Development build: whether an event without an id and with this data was among the last SIZE such events. */
  again?: ((data: string) => boolean) | undefined
}

/** A cheap fingerprint of the data: its length and up to 32 characters spread over it. */
export function print(data: string): number {
  let hash = data.length
  const step = Math.max(1, data.length >> 5)
  for (let i = 0; i < data.length; i += step) hash = Math.imul(hash ^ data.charCodeAt(i), 16777619)
  return hash
}

export function createSeen(): Seen {
  const ids: string[] = []
  const prints: number[] = []
  const places: number[] = []
  const plain: number[] = []
  let count = 0
  let next = 0
  let nextPlain = 0
  return {
    add(id, data) {
      if (__DEV__ && id === '') {
        plain[nextPlain] = print(data)
        nextPlain = (nextPlain + 1) % SIZE
        return
      }
      ids[next] = id
      prints[next] = print(data)
      places[next] = ++count
      next = (next + 1) % SIZE
    },
    again: __DEV__ ? (data) => plain.includes(print(data)) : undefined,
    has(id, data) {
      const i = ids.lastIndexOf(id)
      return i < 0 ? undefined : prints[i] === print(data) && places[i]!
    },
  }
}
