// A Svelte store for one event type: the subscription lives while the store has subscribers.
// During server rendering a component still subscribes to its stores, so the store opens nothing
// where there is no page (Svelte's SSR, SvelteKit) and keeps its initial value there.
import { readable } from 'svelte/store'
import { subscribe } from 'subwire'

export function events<T>(url: string, type: string) {
  return readable<T | undefined>(undefined, (set) => {
    if (typeof document === 'undefined') return // on the server: render the initial value
    const sub = subscribe<Record<string, T>>(url, { decode: 'json' })
    sub.on(type, (event) => set(event.data))
    return () => sub.close()
  })
}
