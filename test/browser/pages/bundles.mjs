// Loaded as a module script next to the UMD <script> tag; reports what both expose, and receives
// one event through subwire/core with only the eventsource transport, and one with only the
// native EventSource (nativeEventSource).
import * as esm from '/dist/subwire.mjs'
import * as parserEntry from '/dist/parser.mjs'
import * as core from '/dist/core.mjs'

const umd = globalThis.Subwire
const got = {}
// Native EventSource objects made: one, by nativeEventSource (the other reads over fetch).
let made = 0
const Native = window.EventSource
window.EventSource = class extends Native {
  constructor(...args) {
    super(...args)
    made++
  }
}
const done = () => {
  if (!got.fetch || !got.native) return
  window.__bundles = {
    umdKeys: umd ? Object.keys(umd).sort() : null,
    esmKeys: Object.keys(esm).sort(),
    parserKeys: Object.keys(parserEntry).sort(),
    coreKeys: Object.keys(core).sort(),
    coreEvent: got.fetch,
    nativeEvent: got.native,
    nativeMade: made,
  }
  document.getElementById('status').textContent = 'ready'
}
for (const [name, transport] of [
  ['fetch', core.eventsource],
  ['native', core.nativeEventSource],
]) {
  const sub = core.createSubscribe({ eventsource: transport })('/events', { share: false })
  sub.on('message', (event) => {
    sub.close()
    got[name] = { transport: event.transport, data: event.data }
    done()
  })
}
