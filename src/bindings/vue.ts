/**
 * subwire/vue: one composable. The subscription opens at once (in the browser) and closes with the
 * component or effect scope that called it; when the url or the options (refs or getters allowed,
 * compared by value) change, it reopens once. Server rendering opens nothing.
 *
 * @example
 * const { value, state, error } = useSubscription<{ text: string }>('/events', { events: 'notice', decode: 'json' })
 *
 * @packageDocumentation
 */
import { computed, getCurrentScope, onScopeDispose, shallowRef, toValue, watch, type ComputedRef, type MaybeRefOrGetter } from 'vue'
import { createStore, idle, keyOf, withLatest, type BindingOptions, type Snapshot } from './store'

export type { BindingOptions, Snapshot } from './store'

/** Read-only refs of the subscription's snapshot. */
export type SubscriptionRefs<V> = { readonly [K in keyof Snapshot<V>]: ComputedRef<Snapshot<V>[K]> }

export function useSubscription<T = string, V = T | undefined>(url: MaybeRefOrGetter<string | readonly string[] | null | undefined>, options: MaybeRefOrGetter<BindingOptions<T, V>> = {}): SubscriptionRefs<V> {
  const current = shallowRef<Snapshot<V>>(idle(toValue(options).initial as V).get())
  let unwatch: (() => void) | undefined
  watch(
    () => {
      const u = toValue(url)
      return u == null ? '' : keyOf(u) + keyOf(toValue(options), true)
    },
    () => {
      unwatch?.()
      const u = toValue(url)
      const o = toValue(options)
      const store = u == null ? idle(o.initial as V) : createStore(u, withLatest(o, () => toValue(options)))
      current.value = store.get()
      unwatch = store.subscribe(() => (current.value = store.get()))
    },
    { immediate: true },
  )
  if (getCurrentScope()) onScopeDispose(() => unwatch?.())
  const field = <K extends keyof Snapshot<V>>(k: K) => computed(() => current.value[k])
  return { value: field('value'), state: field('state'), error: field('error'), reason: field('reason'), lastEventId: field('lastEventId') }
}
