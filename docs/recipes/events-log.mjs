// A replay buffer for server push: numbered events, "what came after id N" (and whether N is
// still known here), and a call for each new event. In memory, for one process. Behind the same
// four functions a shared store works for many processes (e.g. a Redis stream: XADD for publish,
// XRANGE for since, XREAD BLOCK for wait), and the servers that use it do not change.

/** SSE field syntax for one event: the framing of every subwire transport. */
export function frame(event) {
  const type = event.type ? `event: ${event.type}\n` : ''
  return `id: ${event.id}\n${type}data: ${String(event.data).split('\n').join('\ndata: ')}\n\n`
}

/** Sent first when a client asks to resume from an id this log no longer has (protocol.md). */
export const RESET = 'event: reset\ndata:\n\n'

export function createLog({ keep = 1000 } = {}) {
  const events = []
  const listeners = new Set()
  let next = 1

  /**
   * What brings a client from `lastId` up to now, as event-stream text: a reset if that id is
   * gone, the events after it, and for a client without an id the id of now (an id-only block),
   * so that its next request resumes from here. `news` is false when there is nothing to say.
   */
  function since(lastId, now = next - 1) {
    const fresh = lastId == null || lastId === ''
    const id = fresh ? now : Number(lastId)
    const known = Number.isInteger(id) && id >= (events[0]?.id ?? next) - 1 && id < next
    const missed = known ? events.filter((e) => e.id > id) : events.slice()
    const text = (known ? '' : RESET) + missed.map(frame).join('') + (fresh && !missed.length ? `id: ${id}\n\n` : '')
    return { news: !known || fresh || missed.length > 0, text }
  }

  function listen(listener) {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  return {
    publish(data, type) {
      const event = { id: next++, type, data }
      events.push(event)
      if (events.length > keep) events.shift()
      for (const listener of [...listeners]) listener(event)
      return event
    },
    since,
    listen,
    /** What `since` says, at once if there is news, else at the next event or after `ms`. */
    wait(lastId, ms, signal) {
      const now = next - 1
      const answer = since(lastId, now)
      if (answer.news || signal?.aborted) return Promise.resolve(answer)
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer)
          off()
          signal?.removeEventListener('abort', done)
          resolve(since(lastId, now))
        }
        const timer = setTimeout(done, ms)
        const off = listen(done)
        signal?.addEventListener('abort', done)
      })
    },
  }
}
