// Through nchan (one node, Redis behind it) in Chromium, per transport and with default
// negotiation: throughput (N messages published as fast as nchan takes them over HTTP) and time to
// the first event (a message already waiting, resumed from the id before it). A fresh Chromium
// process per run, nothing attached; the page posts its result back.
// Run with `npm run bench:nchan`. Writes its section of docs/benchmarks.md.
import { startServer } from '../demo/server.mjs'
import { startNchan } from '../test/nchan/nchan.mjs'
import { chromeVersion as readChromeVersion, machine, openBrowser, startResults } from './browser.mjs'
import { replaceSection } from './docs.mjs'
import { execSync } from 'node:child_process'

const QUICK = process.argv.includes('--quick')
const N = QUICK ? 1000 : 4000
const TTFE_REPS = QUICK ? 3 : 7
const TRANSPORTS = ['websocket', 'eventsource', 'longpoll', 'poll', 'auto']

const nchan = await startNchan({ nodes: 1 })
const pages = await startServer({ staticDirs: ['bench/pages'] })
const channel = await startResults()
const chromeVersion = await readChromeVersion()
const [node] = nchan.nodes
let runs = 0

/** Publish `count` messages with a few requests in flight at a time. */
async function publishMany(name, count, body) {
  let next = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < count) {
      next++
      await nchan.publish(0, name, body)
    }
  }))
}

async function run(transport, mode) {
  const name = `b${runs++}`
  const from = await nchan.publish(0, name, 'w0')
  if (mode === 'ttfe') await nchan.publish(0, name, 'first')
  const query = new URLSearchParams({ url: node.sub(name), poll: node.poll(name), transport, mode, n: String(N), from, results: channel.origin })
  const result = channel.next('/result', 120000)
  const ready = mode === 'throughput' ? channel.next('/ready', 30000) : undefined
  const close = openBrowser(`${pages.origin}/bench/pages/nchan.html?${query}`)
  let warm
  try {
    if (ready) {
      // Warm-up messages until the page says it receives them, then the measured burst.
      warm = setInterval(() => nchan.publish(0, name, 'w').catch(() => {}), 100)
      await ready
      clearInterval(warm)
      await new Promise((r) => setTimeout(r, 300))
      await publishMany(name, N, 'b'.repeat(100))
    }
    return await result
  } finally {
    clearInterval(warm)
    ready?.catch(() => {})
    channel.reset()
    await close()
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const rows = []
try {
  for (const transport of TRANSPORTS) {
    const t = await run(transport, 'throughput')
    const firsts = []
    for (let r = 0; r < TTFE_REPS; r++) firsts.push((await run(transport, 'ttfe')).ms)
    const row = { transport, throughput: t.events / (t.ms / 1000), via: t.transport, ttfe: median(firsts) }
    rows.push(row)
    console.log(`${transport.padEnd(12)} ${Math.round(row.throughput).toString().padStart(7)} messages/s (${row.via})  first event ${row.ttfe.toFixed(1)} ms`)
  }
} finally {
  await channel.close()
  await pages.close()
  await nchan.close()
}

if (!QUICK) {
  const nginx = execSync('/usr/sbin/nginx -v 2>&1').toString().trim().replace('nginx version: ', '')
  const nchanVersion = execSync("dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo unknown").toString().trim()
  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  await replaceSection(
    'nchan',
    [
      `Measured ${new Date().toISOString().slice(0, 10)}, Chromium ${chromeVersion}, ${nginx} with nchan ${nchanVersion} and Redis, one node, on ${machine()}, shared by browser, nginx, Redis and driver. Throughput: ${fmt(N)} messages of 100 B published over HTTP (8 requests in flight); nchan's publishing is the ceiling here. First event: median of ${TTFE_REPS} page loads, a message waiting after the resume id. Produced by \`npm run bench:nchan\`.`,
      '',
      '| subwire with `nchan()` | throughput, messages/s | first event |',
      '| --- | ---: | ---: |',
      ...rows.map((r) => `| ${r.transport === 'auto' ? `default negotiation (${r.via})` : r.transport} | ${fmt(r.throughput)} | ${r.ttfe.toFixed(1)} ms |`),
    ].join('\n'),
  )
  console.log('docs/benchmarks.md updated')
}
