// `for await (const event of subscription)`: a hand-written async iterator over a bounded queue.
// It never yields after its subscription closed; `return()` (a `break` out of the loop) detaches
// it at once, settling a pending `next()`.
import { SubwireError } from './errors'
import { say } from './text'

export interface Feed<T> {
  /** A new value; past `bufferSize` waiting values the iterator ends with an `overflow` error. */
  push(value: T): void
  /** The end: `drop` forgets values not yet taken (the subscription was closed); `error` is thrown after the rest. */
  end(error: SubwireError | undefined, drop: boolean): void
  readonly iterator: AsyncIterableIterator<T>
}

const DONE = { done: true, value: undefined } as IteratorReturnResult<undefined>

/** `detach` runs once, when the iterator ends for any reason; `returned` when its consumer left (`return()`). */
export function createFeed<T>(bufferSize: number, detach: (feed: Feed<T>, returned: boolean) => void): Feed<T> {
  const queue: T[] = []
  let ended = false
  let failure: SubwireError | undefined
  // Pending next() calls, settled in the order they were made.
  const waiting: Array<{ resolve(result: IteratorResult<T>): void; reject(error: unknown): void }> = []
  let scheduled = false

  function settle(): void {
    scheduled = false
    while (waiting.length && (queue.length || ended)) {
      const w = waiting.shift()!
      if (queue.length) w.resolve({ done: false, value: queue.shift()! })
      else if (failure) {
        const error = failure
        failure = undefined
        w.reject(error)
      } else w.resolve(DONE)
    }
  }

  function end(error: SubwireError | undefined, drop: boolean, returned = false): void {
    if (ended) return
    ended = true
    failure = error
    if (drop) queue.length = 0
    detach(feed, returned)
    settle()
  }

  const iterator: AsyncIterableIterator<T> = {
    next() {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        settle()
      })
    },
    return() {
      end(undefined, true, true)
      return Promise.resolve(DONE)
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
  }

  const feed: Feed<T> = {
    push(value) {
      if (ended) return
      if (queue.length < bufferSize) {
        queue.push(value)
        // Hand it over on a microtask: a close() later in this turn still takes it back.
        if (waiting.length && !scheduled) {
          scheduled = true
          queueMicrotask(settle)
        }
      } else {
        end(new SubwireError('overflow', say('overflow', bufferSize), undefined, false), false)
      }
    },
    end,
    iterator,
  }
  return feed
}
