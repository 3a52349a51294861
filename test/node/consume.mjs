// Run by node.test.ts in a plain Node process (no DOM, no polyfills): subscribe as a Node user
// would, from the built package, read `count` events and close. Prints one JSON line; the process
// must then exit by itself (nothing left running).
//   node consume.mjs <url> <transport> <count> [ws]
//   node consume.mjs <url> answer            a POST answer, read to its end
import { subscribe } from '../../dist/subwire.mjs'

const [url, transport, count, socket] = process.argv.slice(2)
const env = socket === 'ws' ? { WebSocket: (await import('ws')).WebSocket } : {}
const events = []
const errors = []
const sub = transport === 'answer' ? subscribe(url, { body: JSON.stringify({ prompt: 'hi' }) }) : subscribe(url, { transports: [transport], env })
sub.on('error', (e) => errors.push(`${e.code}: ${e.message}`))
for await (const event of sub) {
  events.push({ data: event.data, id: event.id, transport: event.transport })
  if (events.length >= Number(count ?? Infinity)) break
}
console.log(JSON.stringify({ events, errors, state: sub.state }))
