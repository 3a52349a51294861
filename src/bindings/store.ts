// What subwire/react, subwire/vue and subwire/svelte share: a store that holds one subscription's
// state as an immutable snapshot, opens the subscription while something watches it, and closes it
// a tick after the last watcher leaves (so React's StrictMode, which unmounts and mounts again at
// once, keeps one connection). Options are compared by value (`keyOf`); their functions are called
// through `latest`, so an inline arrow function does not reopen the subscription on every render.
import { subscribe, type State, type SubscribeOptions, type Subscription, type SubwireError, type SubwireEvent } from '../index'

/** The options of a binding: `subscribe`'s, plus what the binding keeps as its value. */
export interface BindingOptions<T = string, V = T | undefined> extends SubscribeOptions {
  /** The event types that set the value (default `'message'`). */
  events?: string | readonly string[]
  /** Folds each event into the value, e.g. `(text, e) => text + e.data` for a streamed answer (default: the last event's data). */
  reduce?: (value: V, event: SubwireEvent<T>) => V
  /** The value before any event (default `undefined`). */
  initial?: V
}

/** What a binding shows: one immutable object, replaced on every change. */
export interface Snapshot<V> {
  /** The last event's data, or what `reduce` made of the events so far. */
  readonly value: V
  readonly state: State
  /** The latest error; cleared when a connection opens. */
  readonly error: SubwireError | undefined
  /** With `closed`: `'end'` (a one-shot answer ended), `'error'` or `'close'`. */
  readonly reason: 'end' | 'error' | 'close' | undefined
  /** The resume point: the last id the server sent. */
  readonly lastEventId: string
}

export interface Store<V> {
  /** Watch for changes; the subscription is open while anything watches. Returns the unwatch. */
  subscribe(onChange: () => void): () => void
  /** The current snapshot (the same object until something changes). */
  get(): Snapshot<V>
}

const snapshot = <V>(value: V, state: State, lastEventId = ''): Snapshot<V> => ({ value, state, error: undefined, reason: undefined, lastEventId })

/** A store with nothing to subscribe to (no url): `closed`, the initial value. */
export function idle<V>(initial: V): Store<V> {
  const closed = snapshot(initial, 'closed')
  return { subscribe: () => () => {}, get: () => closed }
}

/**
 * The store of one subscription. Nothing opens where there is no `document` (server rendering):
 * the snapshot stays `connecting` with the initial value, as the first render in the browser.
 */
export function createStore<T, V>(url: string | readonly string[], options: BindingOptions<T, V>): Store<V> {
  const { events = 'message', reduce, initial, ...rest } = options
  let current = snapshot(initial as V, 'connecting', rest.lastEventId)
  const watchers = new Set<() => void>()
  let sub: Subscription<Record<string, T>> | undefined
  let closing: ReturnType<typeof setTimeout> | undefined
  const set = (patch: Partial<Snapshot<V>>) => {
    current = { ...current, ...patch }
    watchers.forEach((w) => w())
  }
  const open = () => {
    // Back after a close: resume where the last subscription stopped.
    // The event type T is the caller's word for what `decode` gives.
    const s = (sub = subscribe(url as string, { ...rest, lastEventId: current.lastEventId }) as unknown as Subscription<Record<string, T>>)
    for (const type of typeof events === 'string' ? [events] : events)
      s.on(type, (event) => set({ value: reduce ? reduce(current.value, event) : (event.data as unknown as V), lastEventId: event.lastEventId }))
    s.on('state', (change) => set({ state: change.state, reason: change.reason, ...(change.state === 'open' ? { error: undefined } : change.error && { error: change.error }) }))
    s.on('error', (error) => set({ error }))
  }
  return {
    get: () => current,
    subscribe(onChange) {
      watchers.add(onChange)
      clearTimeout(closing)
      if (!sub && typeof document !== 'undefined') open()
      return () => {
        if (!watchers.delete(onChange) || watchers.size) return
        closing = setTimeout(() => {
          sub?.close()
          sub = undefined
        })
      }
    },
  }
}

const ids = new WeakMap<object, number>()
let nextId = 0
const identity = (value: object) => `#${ids.get(value) ?? (ids.set(value, ++nextId), nextId)}`

/**
 * A string equal for equal options: plain objects and arrays by value (keys sorted), other objects
 * (a `FormData`, an `AbortSignal`, a class) by identity. Functions at the top of the options are
 * called through `latest` (see `withLatest`) and count as equal; nested ones by identity.
 */
export function keyOf(value: unknown, top = false): string {
  // `top`: `value` is the options object itself.
  if (typeof value === 'function') return identity(value)
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'u'
  if (Array.isArray(value)) return `[${value.map((v) => keyOf(v)).join()}]`
  if (Object.getPrototypeOf(value) !== Object.prototype) return identity(value)
  const o = value as Record<string, unknown>
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${top && typeof o[k] === 'function' ? 'f' : keyOf(o[k])}`)
    .join()}}`
}

/** `options` with each function replaced by one that calls the same option of `latest()`, whatever it is by then. */
export function withLatest<O extends object>(options: O, latest: () => O): O {
  const out: Record<string, unknown> = { ...(options as Record<string, unknown>) }
  for (const [k, v] of Object.entries(options))
    if (typeof v === 'function') out[k] = (...args: unknown[]) => ((latest() as Record<string, unknown>)[k] as (...a: unknown[]) => unknown)(...args)
  return out as O
}
