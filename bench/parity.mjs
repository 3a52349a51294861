// The parity matrix (test/parity/) as a table in docs/benchmarks.md: every row and origin setup,
// the browser's own EventSource beside each subwire client, in one Chromium run. `npm test` runs the
// same matrix and checks its rule (test/browser/parity.test.ts); this writes what it measured.
// Run with `npm run bench:parity` (builds first).
import { launchChromium } from '../scripts/chromium.mjs'
import { startServer } from '../demo/server.mjs'
import { runMatrix, slack } from '../test/parity/matrix.mjs'
import { replaceSection } from './docs.mjs'
import { chromeVersion, machine } from './browser.mjs'

const browser = await launchChromium(['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'])
const server = await startServer()
const started = Date.now()
const results = await runMatrix({
  browser,
  pageOrigin: server.origin,
  log: (r) => console.log(`${r.row} [${r.setup}]: ${r.clients.map((c) => `${c.name} ${c.reasons.length ? 'FAILS ' + c.reasons.join('; ') : 'ok'}`).join(', ')}`),
})
await browser.close()
await server.close()

const SETUP = { same: 'same origin', origin: 'other origin, Allow-Origin only', preflight: 'other origin, preflight allows Last-Event-ID' }
const cell = (c) => `${c.delivered} / ${c.duplicates} / ${c.lost} · ${(c.time / 1000).toFixed(1)} s · ${c.requests}`
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}, Chromium ${(await chromeVersion()).split(" ")[0]}, in ${Math.round((Date.now() - started) / 1000)} s. Produced by \`npm run bench:parity\`; \`npm test\` checks the same rule on every run.`,
  '',
  'Each cell: events delivered / duplicated / lost · time to the last event · requests the server saw. "ok" where the rule holds: the native object delivered every event once, and subwire did too, in order, within its time × 1.25 + 1 s (or, where the native object duplicated or lost, subwire did not do worse). Cases run five at a time; one that broke only the time rule is run once more alone, and that run is judged (the table says so where it happened).',
  '',
  '| scenario | origin | native EventSource | subwire | result |',
  '| --- | --- | --- | --- | --- |',
]
for (const r of results) {
  for (const c of r.clients) {
    const verdict = (c.reasons.length ? `**fails**: ${c.reasons.join('; ')}` : c.limit ? `limit: ${c.limit}` : `ok (≤ ${(slack(r.native.time) / 1000).toFixed(1)} s)`) + (r.rerun ? ` — run again alone (beside the others: ${r.rerun})` : '')
    lines.push(`| ${r.row} | ${SETUP[r.setup]} | ${cell(r.native)} | ${c.name}: ${cell(c)} | ${verdict} |`)
  }
}
await replaceSection('parity', lines.join('\n'))
const failing = results.flatMap((r) => r.clients.filter((c) => c.reasons.length))
console.log(`${results.length} rows, ${failing.length} failing; written to docs/benchmarks.md`)
