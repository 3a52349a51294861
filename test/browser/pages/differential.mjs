import { createParser } from '/dist/parser.mjs'

// Native EventSource: collect until the stream ends (the first error), then stop it from
// reconnecting.
function viaEventSource(url, types) {
  return new Promise((resolve) => {
    const events = []
    const source = new EventSource(url)
    const push = (e) => events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId })
    source.onmessage = push
    for (const type of types) source.addEventListener(type, push)
    source.onerror = () => {
      source.close()
      resolve(events)
    }
  })
}

// subwire's parser over the same bytes, fetched and fed as they arrive.
async function viaParser(url) {
  const events = []
  const parser = createParser({
    onEvent: (e) => events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId }),
  })
  const response = await fetch(url)
  const reader = response.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parser.feed(value)
  }
  parser.end()
  return events
}

window.compare = async (name, types) => ({
  native: await viaEventSource(`/raw/${encodeURIComponent(name)}`, types),
  parser: await viaParser(`/raw/${encodeURIComponent(name)}`),
})
window.ready = true
