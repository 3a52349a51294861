// One measurement through nchan in a plain (uninstrumented) page; it posts its result back.
// Query: url, poll (the interval-poll location), transport (or 'auto'), mode (throughput | ttfe),
// n, from (the id to resume after), results (origin to post to).
import { nchan } from '/dist/presets.mjs'

const q = new URLSearchParams(location.search)
const mode = q.get('mode')
const n = Number(q.get('n'))
const results = q.get('results')
const transport = q.get('transport')
const start = performance.now()
let first = -1
let count = 0
let done = false
const post = (path, body) => fetch(results + path, { method: 'POST', body: JSON.stringify(body), mode: 'cors' })
const sub = window.Subwire.subscribe(
  q.get('url'),
  nchan({
    ...(transport === 'auto' ? {} : { transports: [transport] }),
    urls: { poll: q.get('poll') },
    lastEventId: q.get('from') ?? '',
    pollInterval: 0,
    rememberFor: 0,
    share: false,
  }),
)
sub.on('message', (event) => {
  if (done) return
  const now = performance.now()
  if (mode === 'ttfe') return finish({ ms: now - start, transport: event.transport })
  if (event.data === 'w') {
    if (count === 0 && first < 0) post('/ready', {})
    return
  }
  if (first < 0) first = now
  if (++count === n) finish({ ms: now - first, events: n, transport: event.transport })
})
sub.on('error', (e) => console.warn(e.message))
function finish(body) {
  done = true
  sub.close()
  post('/result', body)
  document.getElementById('status').textContent = 'done'
}
