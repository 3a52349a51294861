// A Vue 3 app with render functions (no SFC compiler needed): a component on useSubscription whose
// options are a ref the test changes through window.app, and an answer read to its end.
import { createApp, defineComponent, h, ref } from 'vue'
import { useSubscription } from 'subwire/vue'

const options = ref({ transports: ['eventsource'], share: false, query: { room: 'a' } })
const showAnswer = ref(false)
const Feed = defineComponent(() => {
  const { value, state } = useSubscription('/events', options)
  return () => h('p', { id: 'feed' }, `${state.value}:${value.value ?? ''}`)
})
const Answer = defineComponent(() => {
  const { value, state, reason } = useSubscription('/answer', { method: 'POST', body: 'why', initial: '', reduce: (text, e) => text + e.data })
  return () => h('p', { id: 'answer' }, `${state.value}:${reason.value ?? ''}:${value.value}`)
})
const app = createApp(() => [h(Feed), showAnswer.value ? h(Answer) : null])
app.mount('#root')
window.app = {
  setOptions: (o) => (options.value = { transports: ['eventsource'], share: false, ...o }),
  answer: () => (showAnswer.value = true),
  unmount: () => app.unmount(),
}
