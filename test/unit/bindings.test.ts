// The store the React, Vue and Svelte bindings share: open while watched, one connection through a
// StrictMode unmount-and-mount, closed a tick after the last watcher, options compared by value,
// functions read as they are at call time, a streamed answer folded by `reduce` to its end.
import { describe, expect, it, vi } from 'vitest'
import { http, HttpResponse } from 'msw'
import { createStore, idle, keyOf, withLatest } from '../../src/bindings/store'
import { URL_, useNetwork } from '../fixtures/network'

const server = useNetwork()

/** An SSE answer of `tokens` (ids 1…n); `end`: closed after them, else held open. */
function stream(tokens: string[], end = false) {
  const encoder = new TextEncoder()
  return new HttpResponse(
    new ReadableStream({
      start(controller) {
        tokens.forEach((t, i) => controller.enqueue(encoder.encode(`id: ${i + 1}\ndata: ${t}\n\n`)))
        if (end) setTimeout(() => controller.close(), 10)
      },
    }),
    { headers: { 'content-type': 'text/event-stream' } },
  )
}

/** Count requests to the events URL, answering each with `answer()`. */
function counting(answer: () => Response, method: 'get' | 'post' = 'get') {
  const requests: Request[] = []
  server.use(http[method](URL_, ({ request }) => (requests.push(request), answer())))
  return requests
}

const eventsource = { transports: ['eventsource' as const], eventsource: 'fetch' as const, share: false as const }

describe('keyOf: options by value', () => {
  it('equal for equal plain options in any key order; different when a value differs', () => {
    expect(keyOf({ a: 1, b: { c: [1, 'x'] } }, true)).toBe(keyOf({ b: { c: [1, 'x'] }, a: 1 }, true))
    expect(keyOf({ a: 1 }, true)).not.toBe(keyOf({ a: 2 }, true))
    expect(keyOf({ a: 1 }, true)).not.toBe(keyOf({ a: 1, b: undefined, c: null }, true))
  })
  it('functions at the top are equal (called through the latest options); nested ones and other objects by identity', () => {
    expect(keyOf({ headers: () => ({ a: '1' }) }, true)).toBe(keyOf({ headers: () => ({ b: '2' }) }, true))
    const f = () => 1
    expect(keyOf({ env: { random: f } }, true)).toBe(keyOf({ env: { random: f } }, true))
    expect(keyOf({ env: { random: f } }, true)).not.toBe(keyOf({ env: { random: () => 1 } }, true))
    const body = new FormData()
    expect(keyOf({ body }, true)).toBe(keyOf({ body }, true))
    expect(keyOf({ body }, true)).not.toBe(keyOf({ body: new FormData() }, true))
  })
  it('withLatest calls the option as it is at call time', () => {
    let current = { decode: (s: string) => `a:${s}` }
    const wrapped = withLatest(current, () => current)
    current = { decode: (s: string) => `b:${s}` }
    expect(wrapped.decode('x')).toBe('b:x')
  })
})

describe('createStore', () => {
  it('opens nothing until watched; the snapshot is connecting with the initial value', async () => {
    const requests = counting(() => stream(['a']))
    const store = createStore(URL_, { ...eventsource, initial: 'none' })
    await new Promise((r) => setTimeout(r, 50))
    expect(requests).toHaveLength(0)
    expect(store.get()).toEqual({ value: 'none', state: 'connecting', error: undefined, reason: undefined, lastEventId: '' })
  })

  it('watched: open, the last event as value, one snapshot object per change', async () => {
    counting(() => stream(['a', 'b']))
    const store = createStore(URL_, eventsource)
    const seen: unknown[] = []
    const unwatch = store.subscribe(() => seen.push(store.get()))
    await vi.waitFor(() => expect(store.get()).toMatchObject({ value: 'b', state: 'open', lastEventId: '2' }))
    expect(new Set(seen).size).toBe(seen.length)
    expect(store.get()).toBe(store.get())
    unwatch()
  })

  it('unwatched and watched again at once (StrictMode): one connection; the last watcher gone: closed a tick later', async () => {
    const requests = counting(() => stream(['a']))
    const store = createStore(URL_, eventsource)
    const first = store.subscribe(() => {})
    first()
    const second = store.subscribe(() => {})
    await vi.waitFor(() => expect(store.get().state).toBe('open'))
    expect(requests).toHaveLength(1)
    const watcher = vi.fn()
    const third = store.subscribe(watcher)
    second()
    third()
    await vi.waitFor(() => expect(requests[0]!.signal.aborted).toBe(true))
    await new Promise((r) => setTimeout(r, 50))
    expect(requests).toHaveLength(1)
  })

  it('watched again after a close: resumes from the last id it saw', async () => {
    const requests = counting(() => stream(['a', 'b']))
    const store = createStore(URL_, eventsource)
    store.subscribe(() => {})()
    const unwatch = store.subscribe(() => {})
    await vi.waitFor(() => expect(store.get().lastEventId).toBe('2'))
    unwatch()
    await vi.waitFor(() => expect(requests[0]!.signal.aborted).toBe(true))
    const again = store.subscribe(() => {})
    await vi.waitFor(() => expect(requests).toHaveLength(2))
    expect(requests[1]!.headers.get('last-event-id')).toBe('2')
    again()
  })

  it('a POST answer folded by reduce, read to its end: closed with reason end, no second request', async () => {
    const requests = counting(() => stream(['The', ' answer', ' is', ' 42.'], true), 'post')
    const store = createStore<string, string>(URL_, { method: 'POST', body: '{"q":1}', initial: '', reduce: (text, e) => text + e.data })
    const unwatch = store.subscribe(() => {})
    await vi.waitFor(() => expect(store.get().state).toBe('closed'))
    expect(store.get()).toMatchObject({ value: 'The answer is 42.', reason: 'end', error: undefined })
    await new Promise((r) => setTimeout(r, 50))
    expect(requests).toHaveLength(1)
    unwatch()
  })

  it('the events option picks the types; an error is kept until the next open', async () => {
    let n = 0
    server.use(
      http.get(URL_, () =>
        ++n === 1
          ? new HttpResponse('nope', { status: 500 })
          : new HttpResponse('event: notice\ndata: hi\n\ndata: plain\n\n', { headers: { 'content-type': 'text/event-stream' } }),
      ),
    )
    const store = createStore(URL_, { ...eventsource, events: ['notice'], retry: { initialDelay: 10, maxDelay: 10 }, env: { random: () => 0 } })
    const states: string[] = []
    const unwatch = store.subscribe(() => states.push(`${store.get().state}:${store.get().error?.code ?? '-'}`))
    await vi.waitFor(() => expect(store.get().value).toBe('hi'))
    expect(states).toContain('reconnecting:http')
    expect(states.filter((s) => s.startsWith('open'))[0]).toBe('open:-')
    unwatch()
  })

  it('a watcher that stops watching while being told goes, the others are still told; a reduce that throws skips that event, reported, and the stream goes on', async () => {
    counting(() => stream(['a', 'boom', 'c']))
    const thrown: unknown[] = []
    vi.stubGlobal('reportError', (e: unknown) => thrown.push(e))
    try {
      const store = createStore<string, string>(URL_, {
        ...eventsource,
        initial: '',
        reduce: (text, e) => {
          if (e.data === 'boom') throw new Error('reduce failed')
          return text + e.data
        },
      })
      const told: string[] = []
      let first = 0
      const unwatchFirst = store.subscribe(() => {
        first++
        unwatchFirst()
      })
      const unwatch = store.subscribe(() => told.push(store.get().value))
      await vi.waitFor(() => expect(store.get().value).toBe('ac'))
      expect(first).toBe(1)
      expect(told.at(-1)).toBe('ac')
      expect(thrown.map((e) => String((e as Error).message))).toContain('reduce failed')
      expect(store.get().lastEventId).toBe('3')
      unwatch()
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('idle (no url): closed, the initial value, watching does nothing', () => {
    const store = idle(5)
    const unwatch = store.subscribe(() => {})
    expect(store.get()).toMatchObject({ value: 5, state: 'closed' })
    unwatch()
  })
})
