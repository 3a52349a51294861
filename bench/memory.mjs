// Memory in Chromium: after 10 000 subscribe/close cycles over the eventsource transport and 1 000
// over WebSocket (Chromium admits one WebSocket handshake per host at a time, so those are slow),
// each closed before it starts, while it connects, or after its first event, the heap, live timers
// and page listeners must be back at the baseline; and the heap each open subscription costs,
// next to a bare native WebSocket. Heap is read through DevTools after a
// forced garbage collection. Run with `npm run bench:memory`. Writes docs/benchmarks.md.
import { startServer } from '../demo/server.mjs'
import { launchChromium } from '../scripts/chromium.mjs'
import { machine } from './browser.mjs'

const QUICK = process.argv.includes('--quick')
const CYCLES = { eventsource: QUICK ? 3000 : 10000, websocket: QUICK ? 300 : 1000 }
const OPEN = 200

const server = await startServer({ staticDirs: ['bench/pages'] })
server.publish({ data: 'hello' }) // every subscription resumes from id 0 and gets this at once
const browser = await launchChromium()
const kib = (bytes) => (bytes / 1024).toFixed(1)
let lines
try {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(`${server.origin}/bench/pages/memory.html`)
  const cdp = await page.context().newCDPSession(page)
  const heap = async () => {
    for (let i = 0; i < 3; i++) await cdp.send('HeapProfiler.collectGarbage')
    return (await cdp.send('Runtime.getHeapUsage')).usedSize
  }
  const track = () => page.evaluate(() => window.__track())

  const states = []
  for (const transport of ['eventsource', 'websocket']) {
    await page.evaluate((t) => window.__cycles(300, 30, t), transport) // warm up: code compiled, pools filled
    const before = { heap: await heap(), ...(await track()) }
    const started = Date.now()
    await page.evaluate(([n, t]) => window.__cycles(n, 30, t), [CYCLES[transport], transport])
    const seconds = (Date.now() - started) / 1000
    states.push({ transport, before, after: { heap: await heap(), ...(await track()) }, seconds })
  }

  const perOpen = {}
  for (const kind of ['subwire', 'native']) {
    const base = await heap()
    await page.evaluate(([k, n]) => window.__open(k, n), [kind, OPEN])
    perOpen[kind] = ((await heap()) - base) / OPEN
    await page.evaluate(() => window.__closeAll())
  }
  const end = { heap: await heap(), ...(await track()) }
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`)

  const date = new Date().toISOString().slice(0, 10)
  const row = (label, state) => `| ${label} | ${kib(state.heap)} KiB | ${state.timers} | ${state.windowListeners} |`
  const delta = (a, b) => `${b.heap >= a.heap ? '+' : ''}${kib(b.heap - a.heap)} KiB`
  lines = [
    `Measured ${date} on ${machine()}, Chromium ${browser.version()}, heap after forced GC (DevTools \`Runtime.getHeapUsage\`). Produced by \`npm run bench:memory\`. Each cycle: subscribe, then close — before it starts, while it connects, or after its first event (a third each), 30 at a time.`,
    '',
    `| | heap | live timers | window listeners |`,
    `| --- | ---: | ---: | ---: |`,
    ...states.flatMap((s) => [
      row(`${s.transport}: baseline (after 300 warm-up cycles)`, s.before),
      row(`${s.transport}: after ${CYCLES[s.transport].toLocaleString('en-US')} cycles (${s.seconds.toFixed(0)} s), ${delta(s.before, s.after)}`, s.after),
    ]),
    row(`after ${OPEN} subwire and ${OPEN} native WebSockets opened and closed`, end),
    '',
    `Heap per open subscription (${OPEN} open at once over WebSocket, each past its first event): **subwire ${kib(perOpen.subwire)} KiB**, a bare native WebSocket ${kib(perOpen.native)} KiB.`,
  ]
  const leaks = states.some((s) => s.after.timers !== s.before.timers || s.after.windowListeners !== s.before.windowListeners) || end.timers || end.windowListeners
  console.log(lines.join('\n'))
  if (leaks) throw new Error('timers or listeners did not return to the baseline')
} finally {
  await browser.close()
  await server.close()
}
if (!QUICK) {
  const { replaceSection } = await import('./docs.mjs')
  await replaceSection('memory', lines.join('\n'))
  console.log('docs/benchmarks.md updated')
}
