// Loaded as a module script next to the UMD <script> tag; reports what both expose, and receives
// one event through subwire/core with only the eventsource transport.
import * as esm from '/dist/subwire.mjs'
import * as parserEntry from '/dist/parser.mjs'
import * as core from '/dist/core.mjs'

const umd = globalThis.Subwire
const subscribe = core.createSubscribe({ eventsource: core.eventsource })
const sub = subscribe('/events')
sub.on('message', (event) => {
  sub.close()
  window.__bundles = {
    umdKeys: umd ? Object.keys(umd).sort() : null,
    esmKeys: Object.keys(esm).sort(),
    parserKeys: Object.keys(parserEntry).sort(),
    coreKeys: Object.keys(core).sort(),
    coreEvent: { transport: event.transport, data: event.data },
  }
  document.getElementById('status').textContent = 'ready'
})
