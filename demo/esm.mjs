import { subscribe } from '/dist/subwire.mjs'

// Prices, notices and tokens are JSON; the plain `message` ticks are text.
const sub = subscribe('/events', { decode: (data, type) => (type === 'message' ? data : JSON.parse(data)) })
const log = document.getElementById('log')
for await (const event of sub) {
  document.getElementById('transport').textContent = event.transport
  document.getElementById('last-id').textContent = event.lastEventId
  const li = document.createElement('li')
  li.textContent = `${event.type}: ${JSON.stringify(event.data)}`
  log.prepend(li)
  while (log.children.length > 20) log.lastChild.remove()
}
