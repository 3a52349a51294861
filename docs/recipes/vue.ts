// A Vue composable for one event type. The subscription opens in onMounted, which never runs
// during server rendering (Vue's SSR, Nuxt): nothing opens on the server, and it closes when the
// component unmounts.
import { onMounted, onBeforeUnmount, ref, type Ref } from 'vue'
import { subscribe, type State, type Subscription } from 'subwire'

export function useEvents<T>(url: string, type: string) {
  const last: Ref<T | undefined> = ref()
  const state = ref<State>('connecting')
  let sub: Subscription<Record<string, T>> | undefined
  onMounted(() => {
    sub = subscribe<Record<string, T>>(url, { decode: 'json' })
    sub.on(type, (event) => (last.value = event.data))
    sub.on('state', (change) => (state.value = change.state))
  })
  onBeforeUnmount(() => sub?.close())
  return { last, state }
}
