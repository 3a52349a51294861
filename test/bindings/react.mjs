// A React 19 app as users write one (without JSX, so the test needs no compiler plugin): a
// component on useSubscription under StrictMode, its options driven by the test through
// window.app, and an answer read to its end.
import { createElement as h, StrictMode, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useSubscription } from 'subwire/react'

let setOptions
function Feed() {
  const [options, set] = useState({ query: { room: 'a' } })
  setOptions = set
  const { value, state } = useSubscription('/events', { transports: ['eventsource'], share: false, ...options })
  return h('p', { id: 'feed' }, `${state}:${value ?? ''}`)
}
function Answer({ prompt }) {
  const { value, state, reason } = useSubscription('/answer', { method: 'POST', body: prompt, initial: '', reduce: (text, e) => text + e.data })
  return h('p', { id: 'answer' }, `${state}:${reason ?? ''}:${value}`)
}

const root = createRoot(document.getElementById('root'))
const render = (answer) => root.render(h(StrictMode, null, h(Feed), answer ? h(Answer, { prompt: 'why' }) : null))
render(false)
window.app = {
  setOptions: (o) => setOptions(o),
  answer: () => render(true),
  unmount: () => root.unmount(),
}
