/**
 * subwire/react: one hook. The subscription opens when the component mounts and closes when it
 * unmounts or the url or an option changes (compared by value: a new object with the same options
 * reconnects nothing; inline functions are called as they are at the time). StrictMode keeps one
 * connection; server rendering opens nothing and renders `connecting` with the initial value.
 *
 * @example
 * const { value, state, error } = useSubscription<{ text: string }>('/events', { events: 'notice', decode: 'json' })
 *
 * @packageDocumentation
 */
import { useMemo, useRef, useSyncExternalStore } from 'react'
import { createStore, idle, keyOf, withLatest, type BindingOptions, type Snapshot } from './store'

export type { BindingOptions, Snapshot } from './store'

/** Subscribe while the component is mounted; `url` null or undefined subscribes to nothing (`closed`). */
export function useSubscription<T = string, V = T | undefined>(url: string | readonly string[] | null | undefined, options: BindingOptions<T, V> = {}): Snapshot<V> {
  const latest = useRef(options)
  latest.current = options
  const key = url == null ? '' : keyOf(url) + keyOf(options, true)
  // eslint-disable-next-line react-hooks/exhaustive-deps -- the key is url and options by value
  const store = useMemo(() => (url == null ? idle(options.initial as V) : createStore(url, withLatest(options, () => latest.current))), [key])
  return useSyncExternalStore(store.subscribe, store.get, store.get)
}
