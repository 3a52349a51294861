// Development only: can the six-connection limit of HTTP/1.1 be why a request got no answer? A
// browser opens at most six connections per origin, shared by all its tabs; a request beyond them
// waits in the browser and looks like a hung server. A stream that has its connection holds a Web
// Lock named for the origin while it lasts (released with its tab, too); a request still waiting
// counts the locks the others hold. The timeout blames the limit only when five others hold one.
import type { Env } from './types'

const PREFIX = 'subwire connection '
/** Others holding a connection to the origin before the limit can be the cause. */
export const CROWDED = 5

export interface Limit {
  /** Attempt `epoch` to `origin` began: count the others' connections until `stop()`. */
  waiting(epoch: number, origin: string): () => void
  /** A connection to `origin` is open: held until the returned release is called. */
  hold(origin: string): () => void
  /** The most connections to its origin seen held by others while attempt `epoch` waited. */
  others(epoch: number): number
}

export function createLimit(locks: LockManager): Limit {
  const seen = new Map<number, number>()
  let next = 0
  return {
    waiting(epoch, origin) {
      let timer: ReturnType<typeof setTimeout> | undefined
      let stopped = false
      const count = () =>
        locks.query().then(
          ({ held = [] }) => {
            if (stopped) return
            seen.set(epoch, Math.max(seen.get(epoch) ?? 0, held.filter((l) => l.name?.startsWith(PREFIX + origin + ' ')).length))
            timer = setTimeout(count, 500)
          },
          () => {},
        )
      void count()
      return () => {
        stopped = true
        clearTimeout(timer)
      }
    },
    hold(origin) {
      const released = new AbortController()
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => (release = resolve))
      locks.request(`${PREFIX}${origin} ${++next}-${Math.random()}`, { signal: released.signal }, () => held).catch(() => {})
      return () => {
        released.abort()
        release()
      }
    },
    others: (epoch) => seen.get(epoch) ?? 0,
  }
}
