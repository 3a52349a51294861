/**
 * subwire/svelte: a readable store (Svelte's store contract, so `$events` works in components, and
 * nothing from Svelte is imported). The subscription is open while the store has subscribers and
 * closes a tick after the last one leaves; server rendering opens nothing.
 *
 * @example
 * const notices = subscription<{ text: string }>('/events', { events: 'notice', decode: 'json' })
 * // in a component: {$notices.value?.text} ({$notices.state})
 *
 * @packageDocumentation
 */
import { createStore, type BindingOptions, type Snapshot } from './store'

export type { BindingOptions, Snapshot } from './store'

/** Svelte's readable store contract. */
export interface Readable<V> {
  subscribe(run: (value: V) => void): () => void
}

export function subscription<T = string, V = T | undefined>(url: string | readonly string[], options: BindingOptions<T, V> = {}): Readable<Snapshot<V>> {
  const store = createStore(url, options)
  return {
    subscribe(run) {
      run(store.get())
      return store.subscribe(() => run(store.get()))
    },
  }
}
