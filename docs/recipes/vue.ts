// Vue with subwire/vue: the composable opens the subscription in the browser and closes it with
// the component; nothing opens during server rendering (Vue's SSR, Nuxt). Options may be refs or
// getters: when they change (by value), it reconnects once.
import { defineComponent, h } from 'vue'
import { useSubscription } from 'subwire/vue'

export const LatestNotice = defineComponent({
  props: { url: { type: String, required: true } },
  setup(props) {
    const { value, state } = useSubscription<{ text: string }>(() => props.url, { events: 'notice', decode: 'json' })
    return () => h('p', `${value.value?.text ?? 'no notice yet'} (${state.value})`)
  },
})
