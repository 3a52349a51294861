// Bundle size: what a user ships, subwire next to the libraries people pick instead, in one run.
// Every subject is bundled the same way (esbuild, browser, minified ESM, everything the entry
// exports kept), then gzipped at level 9; subwire's UMD is measured as shipped. Run with
// `npm run bench:size` (installs bench/ and builds first). Writes the table and a chart into docs/.
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import { barChart } from './chart.mjs'

const root = new URL('..', import.meta.url).pathname
// The version that was bundled: bench/node_modules first, then the root's, as bundle() resolves.
const version = (name) => {
  for (const dir of ['bench/node_modules/', 'node_modules/']) {
    if (existsSync(root + dir + name + '/package.json')) return JSON.parse(readFileSync(root + dir + name + '/package.json', 'utf8')).version
  }
  return '?'
}

// kind: 'multi' = several transports behind one API (subwire's real competition); 'single' = one job.
const peers = [
  ['socket.io-client', 'multi', 'WebSocket + long polling (engine.io)'],
  ['@microsoft/signalr', 'multi', 'WebSocket, SSE, long polling'],
  ['sockjs-client', 'multi', 'WebSocket, streaming, polling'],
  ['centrifuge', 'multi', 'WebSocket, SSE, HTTP streaming'],
  ['phoenix', 'multi', 'WebSocket + long-poll fallback'],
  ['pusher-js', 'multi', 'WebSocket + HTTP fallbacks'],
  ['nchan', 'multi', 'WebSocket, EventSource, long polling'],
  ['reconnecting-websocket', 'single', 'WebSocket reconnect'],
  ['partysocket', 'single', 'WebSocket reconnect'],
  ['eventsource', 'single', 'EventSource polyfill'],
  ['@microsoft/fetch-event-source', 'single', 'fetch SSE'],
  ['eventsource-parser', 'single', 'SSE parser'],
]

async function bundle(contents, external = []) {
  const result = await build({
    external,
    // Resolved from bench/: bench/node_modules first, then the root's, as version() reads them.
    stdin: { contents, resolveDir: root + 'bench', sourcefile: 'entry.js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  return result.outputFiles[0].text
}

const measure = (code) => ({ min: Buffer.byteLength(code), gzip: gzipSync(code, { level: 9 }).length })
const keepAll = (spec) => `import * as lib from '${spec}'\nglobalThis.__keep = lib\n`

const rows = []
const umd = await readFile(root + 'dist/subwire.umd.min.js', 'utf8')
rows.push({ name: 'subwire — UMD bundle, as shipped', kind: 'subwire', note: 'all four transports', ...measure(umd) })
rows.push({ name: 'subwire — ESM, whole API', kind: 'subwire', note: 'all four transports', ...measure(await bundle(keepAll('../dist/subwire.mjs'))) })
const onlyEs = await bundle(`import { createSubscribe, eventsource } from '../dist/core.mjs'\nglobalThis.__keep = createSubscribe({ eventsource })\n`)
const onlyWs = await bundle(`import { createSubscribe, websocket } from '../dist/core.mjs'\nglobalThis.__keep = createSubscribe({ websocket })\n`)
const onlyNative = await bundle(`import { createSubscribe, nativeEventSource } from '../dist/core.mjs'\nglobalThis.__keep = createSubscribe({ eventsource: nativeEventSource })\n`)
// Tree-shaking must really drop the others: the WebSocket transport sets binaryType; the HTTP
// transports send an Accept header for text/event-stream.
if (onlyEs.includes('binaryType')) throw new Error('the eventsource-only bundle still holds the WebSocket transport')
if (onlyWs.includes('text/event-stream')) throw new Error('the websocket-only bundle still holds the HTTP transports')
// The native-only bundle reads no stream itself: no fetch transport, no parser.
if (onlyNative.includes('text/event-stream') || onlyNative.includes('binaryType')) throw new Error('the native-only bundle still holds another transport')
if (onlyNative.includes('ignoreBOM')) throw new Error('the native-only bundle still holds the parser')
rows.push({ name: 'subwire/core — eventsource only', kind: 'subwire', note: 'createSubscribe({ eventsource })', ...measure(onlyEs) })
rows.push({ name: 'subwire/core — websocket only', kind: 'subwire', note: 'createSubscribe({ websocket })', ...measure(onlyWs) })
rows.push({ name: 'subwire/core — native EventSource only', kind: 'subwire', note: 'createSubscribe({ eventsource: nativeEventSource })', ...measure(onlyNative) })
rows.push({ name: 'subwire/parser', kind: 'subwire', note: 'createParser', ...measure(await bundle(keepAll('../dist/parser.mjs'))) })
// The bindings: what each adds to an app that has subwire and its framework already.
for (const [name, framework] of [
  ['react', 'React'],
  ['vue', 'Vue'],
  ['svelte', 'Svelte'],
])
  rows.push({ name: `subwire/${name}`, kind: 'subwire', note: `the binding alone: subwire${name === 'svelte' ? '' : ` and ${framework}`} not counted`, ...measure(await bundle(keepAll(`../dist/${name}.mjs`), ['subwire', 'react', 'vue'])) })
for (const [name, kind, note] of peers) {
  rows.push({ name: `${name} ${version(name)}`, kind, note, ...measure(await bundle(keepAll(name))) })
}

const kib = (b) => (b / 1024).toFixed(2)
for (const r of rows) console.log(`${r.name.padEnd(44)} ${kib(r.min).padStart(7)} KiB min  ${kib(r.gzip).padStart(6)} KiB gzip  (${r.note})`)

const full = rows.find((r) => r.name.startsWith('subwire — UMD'))
const multi = rows.filter((r) => r.kind === 'multi')
const smallestMulti = multi.reduce((a, b) => (a.gzip < b.gzip ? a : b))
const parser = rows.find((r) => r.name === 'subwire/parser')
const esParser = rows.find((r) => r.name.startsWith('eventsource-parser'))
const goals = [
  `- Full SDK smaller than every multi-transport peer: **${full.gzip < smallestMulti.gzip ? 'met' : 'not met'}** — ${kib(full.gzip)} KiB against the smallest, ${smallestMulti.name}, at ${kib(smallestMulti.gzip)} KiB.`,
  `- Full SDK ≤ 4.5 KiB gzip: **${full.gzip <= 4.5 * 1024 ? 'met' : 'not met'}** — ${kib(full.gzip)} KiB.`,
  `- Parser smaller than eventsource-parser: **${parser.gzip < esParser.gzip ? 'met' : 'not met'}** — ${kib(parser.gzip)} against ${kib(esParser.gzip)} KiB.`,
]
console.log(goals.join('\n'))

const date = new Date().toISOString().slice(0, 10)
const table = [
  `Measured ${date}, esbuild ${version('esbuild')} (browser, minified ESM, whole public API kept), gzip level 9, Node ${process.version}. Produced by \`npm run bench:size\`.`,
  '',
  '| package | what it does | min | min+gzip |',
  '| --- | --- | ---: | ---: |',
  ...rows.map((r) => `| ${r.kind === 'subwire' ? `**${r.name}**` : r.name} | ${r.note} | ${kib(r.min)} KiB | ${kib(r.gzip)} KiB |`),
  '',
  ...goals,
  '',
  '![Bundle sizes, min+gzip](size.svg)',
].join('\n')

await writeFile(
  root + 'docs/size.svg',
  barChart({
    title: `min+gzip, KiB (${date})`,
    unit: 'KiB',
    rows: [...rows].sort((a, b) => a.gzip - b.gzip).map((r) => ({ label: r.name, value: Number(kib(r.gzip)), highlight: r.kind === 'subwire' })),
  }),
)
await mkdir(root + 'bench/.results', { recursive: true })
await writeFile(root + 'bench/.results/size.json', JSON.stringify({ date, rows }, null, 2))
const { replaceSection } = await import('./docs.mjs')
await replaceSection('size', table)
console.log('docs/benchmarks.md and docs/size.svg updated')
