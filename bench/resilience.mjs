// Resilience timings in Chromium, subwire next to socket.io-client, each run a fresh browser with
// its defaults: time to first event when the WebSocket upgrade is refused and when it is accepted
// and then silent (what negotiation costs), and time to the next event after the server is
// killed and started again on the same port. Run with `npm run bench:resilience`.
import { writeFile, mkdir } from 'node:fs/promises'
import { startServer } from '../demo/server.mjs'
import { barChart } from './chart.mjs'
import { PAD, STATIC, machine, chromeVersion as readChromeVersion, openBrowser, root, startResults, startSocketIo, version, wallClock } from './browser.mjs'

const QUICK = process.argv.includes('--quick')
const REPS = QUICK ? 2 : 5
const DOWN_MS = 1000
/** A client with no first event within this long is reported as none. */
const LIMIT = 30000
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** Milliseconds for the tables; no event within LIMIT prints as such. */
const ms = (value) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : `none in ${LIMIT / 1000} s`)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const channel = await startResults()
const chromeVersion = await readChromeVersion()

/** Open the bench page on `origin` for one client and wait for what it posts. */
async function page(origin, query, work, limit = 90000) {
  const result = channel.next('/result', limit)
  const ready = channel.next('/ready', 30000)
  ready.catch(() => {})
  const close = openBrowser(`${origin}/bench/pages/e2e.html?${new URLSearchParams({ results: channel.origin, n: '1', from: '', ...query })}`)
  try {
    if (work) await work(ready)
    const value = await result
    if (value.error) throw new Error(`page error: ${value.error}`)
    return value
  } finally {
    channel.reset()
    await close()
  }
}

/** subwire (defaults) against the reference server with `faults` set: ms to the first event. */
async function subwireFirst(faults, extra = {}) {
  const reference = await startServer({ staticDirs: STATIC })
  Object.assign(reference.faults, faults)
  reference.publish({ data: 'f' + PAD })
  try {
    return (await page(reference.origin, { client: 'subwire', transport: 'auto', mode: 'ttfe', from: '0', ...extra })).ms
  } finally {
    await reference.close()
  }
}

/** socket.io-client with `transport` options against a server offering `serverTransports`. */
async function socketIoFirst(transport, serverTransports, silentUpgrade = false) {
  const reference = await startServer({ staticDirs: STATIC })
  const sio = await startSocketIo({ transports: serverTransports, silentUpgrade, onConnection: (s) => s.emit('message', 'f' + PAD) })
  try {
    return (await page(reference.origin, { client: 'socketio', transport, mode: 'ttfe', sio: sio.origin }, undefined, LIMIT)).ms
  } catch (error) {
    if (error.timedOut === '/result') return Infinity // no event within LIMIT
    throw error
  } finally {
    await sio.close()
    await reference.close()
  }
}

/** Events every 10 ms; the server is killed, down for DOWN_MS, started again: ms from up to next event. */
async function recover(client) {
  let reference = await startServer({ staticDirs: STATIC })
  const port = reference.port
  const sio = client === 'socketio' ? await startSocketIo() : undefined
  let up = true
  const timer = setInterval(() => {
    if (!up) return
    if (sio) sio.emit('r' + PAD)
    else reference.publish({ data: 'r' + PAD })
  }, 10)
  let upAt = 0
  try {
    const { at } = await page(reference.origin, { client, transport: 'auto', mode: 'recover', sio: sio?.origin ?? '' }, async (ready) => {
      await ready
      await sleep(1000) // settled (socket.io has upgraded to its WebSocket by now)
      up = false
      if (sio) await sio.kill()
      else await reference.close()
      await sleep(DOWN_MS)
      if (sio) await sio.start()
      else reference = await startServer({ port, staticDirs: STATIC })
      upAt = wallClock()
      up = true
    })
    return at - upAt
  } finally {
    clearInterval(timer)
    await sio?.close()
    await reference.close()
  }
}

const scenarios = [
  ['no faults', 'subwire (defaults)', () => subwireFirst({})],
  ['no faults', 'subwire (rememberFor: 0, no storage read)', () => subwireFirst({}, { remember: '0' })],
  ['no faults', 'socket.io-client (defaults: polling, then upgrade)', () => socketIoFirst('auto', ['polling', 'websocket'])],
  ['no faults', 'socket.io-client (websocket first)', () => socketIoFirst('websocket-first', ['polling', 'websocket'])],
  ['WebSocket upgrade refused', 'subwire (defaults)', () => subwireFirst({ refuse: new Set(['websocket']) })],
  ['WebSocket upgrade refused', 'socket.io-client (defaults: polling, then upgrade)', () => socketIoFirst('auto', ['polling'])],
  ['WebSocket upgrade refused', 'socket.io-client (websocket first)', () => socketIoFirst('websocket-first', ['polling'])],
  ['WebSocket accepted, then silent', 'subwire (defaults: connectTimeout 10 s)', () => subwireFirst({ starveWebSocket: true })],
  ['WebSocket accepted, then silent', 'socket.io-client (defaults: polling, then upgrade)', () => socketIoFirst('auto', ['polling', 'websocket'], true)],
  ['WebSocket accepted, then silent', 'socket.io-client (websocket first)', () => socketIoFirst('websocket-first', ['polling', 'websocket'], true)],
  [`server killed, back after ${DOWN_MS} ms`, 'subwire (defaults)', () => recover('subwire')],
  [`server killed, back after ${DOWN_MS} ms`, 'socket.io-client (defaults)', () => recover('socketio')],
]

const rows = []
try {
  for (const [scenario, client, measure] of scenarios) {
    const runs = []
    for (let r = 0; r < REPS; r++) runs.push(await measure())
    const row = { scenario, client, median: median(runs), min: Math.min(...runs), max: Math.max(...runs) }
    rows.push(row)
    console.log(`${scenario.padEnd(34)} ${client.padEnd(52)} median ${ms(row.median).padStart(9)}  (${ms(row.min)} – ${ms(row.max)})`)
  }
} finally {
  await channel.close()
}

const date = new Date().toISOString().slice(0, 10)
await mkdir(root + 'bench/.results', { recursive: true })
await writeFile(root + 'bench/.results/resilience.json', JSON.stringify({ date, rows }, null, 2))
if (!QUICK) {
  const table = [
    `Measured ${date} on ${machine()}, Chromium ${chromeVersion}, socket.io ${version('bench/node_modules/socket.io')} / socket.io-client ${version('bench/node_modules/socket.io-client')}; median (min–max) of ${REPS} runs, each a fresh browser. First-event times run from the page's script to the first event; "server killed" runs from the moment the server listens again to the next event. Produced by \`npm run bench:resilience\`.`,
    '',
    '| scenario | client | median | min – max |',
    '| --- | --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.scenario} | ${r.client.startsWith('subwire') ? `**${r.client}**` : r.client} | ${ms(r.median)} | ${ms(r.min)} – ${ms(r.max)} |`),
    '',
    '![Resilience timings](resilience.svg)',
  ].join('\n')
  // The silent-WebSocket rows (10 s or more) are left out of the chart: they would flatten every
  // other bar.
  const short = { 'no faults': 'no faults', 'WebSocket upgrade refused': 'WS refused', [`server killed, back after ${DOWN_MS} ms`]: 'server restart' }
  await writeFile(
    root + 'docs/resilience.svg',
    barChart({
      title: `Milliseconds, median (${date}); the silent-WebSocket rows are in the table`,
      unit: 'ms',
      rows: rows.filter((r) => short[r.scenario]).map((r) => ({ label: `${short[r.scenario]}: ${r.client.replace(' (defaults)', '').replace('defaults: ', '')}`, value: Math.round(r.median), highlight: r.client.startsWith('subwire') })),
    }),
  )
  const { replaceSection } = await import('./docs.mjs')
  await replaceSection('resilience', table)
  console.log('docs/benchmarks.md and docs/resilience.svg updated')
}
