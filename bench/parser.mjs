// Parser throughput: subwire's parser vs eventsource-parser vs a raw reference scan, side by side
// in one run, on the same bytes and the same chunk boundaries. Run with `npm run bench:parser`
// (builds first). Writes bench/.results/parser.json and the table in docs/benchmarks.md.
import { createParser } from '../dist/parser.mjs'
import { createParser as createEsParser } from 'eventsource-parser'
import { writeFile, mkdir, readFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const encoder = new TextEncoder()
const QUICK = process.argv.includes('--quick')
const REPS = QUICK ? 2 : 7

function corpus(name, makeText, events) {
  const bytes = encoder.encode(makeText())
  return { name, bytes, events }
}

const corpora = [
  corpus('100k small JSON events', () => {
    let s = ''
    for (let i = 0; i < 100_000; i++) s += `id: ${i}\nevent: update\ndata: {"id":${i},"user":"ada","score":${i % 977},"ok":true}\n\n`
    return s
  }, 100_000),
  corpus('1M LLM-token events', () => {
    const parts = []
    for (let i = 0; i < 1_000_000; i++) parts.push('data: {"t":"tok"}\n\n')
    return parts.join('')
  }, 1_000_000),
  corpus('50k events of five data lines', () => {
    let s = ''
    for (let i = 0; i < 50_000; i++) {
      s += `id: ${i}\n`
      for (let l = 0; l < 5; l++) s += `data: line ${l} of event ${i}, some text é\n`
      s += '\n'
    }
    return s
  }, 50_000),
  corpus('ten 1 MiB events', () => {
    const big = 'x'.repeat(1024 * 1024)
    let s = ''
    for (let i = 0; i < 10; i++) s += `id: ${i}\ndata: ${big}\n\n`
    return s
  }, 10),
]

const chunkSizes = [64, 1024, 65536]

function split(bytes, size) {
  const chunks = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return chunks
}

const contenders = {
  subwire(chunks) {
    let events = 0
    const parser = createParser({ onEvent: () => void events++ })
    for (const chunk of chunks) parser.feed(chunk)
    parser.end()
    return events
  },
  'eventsource-parser'(chunks) {
    let events = 0
    const decoder = new TextDecoder()
    const parser = createEsParser({ onEvent: () => void events++ })
    for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }))
    parser.reset({ consume: false })
    return events
  },
  // The practical ceiling: decode, find every line end, cut out every line; count blank lines.
  'raw scan'(chunks) {
    let events = 0
    let carry = ''
    const decoder = new TextDecoder()
    let line
    for (const chunk of chunks) {
      const text = decoder.decode(chunk, { stream: true })
      let pos = 0
      let lf = text.indexOf('\n')
      while (lf !== -1) {
        if (carry) {
          line = carry + text.slice(pos, lf)
          carry = ''
        } else line = text.slice(pos, lf)
        if (line.length === 0) events++
        pos = lf + 1
        lf = text.indexOf('\n', pos)
      }
      if (pos < text.length) carry += text.slice(pos)
    }
    return events
  },
  // A floor for event-building parsers: the raw scan plus the least such a parser must do. It
  // recognises `data` and the other fields, joins data lines, keeps the last id and builds the
  // event object. LF line ends only, no size bound, no BOM, no retry: not spec-complete, never
  // shipped; it shows what 1.5× eventsource-parser asks of any parser on each corpus.
  floor(chunks) {
    let events = 0
    const onEvent = () => void events++
    const decoder = new TextDecoder()
    let carry = ''
    let data = ''
    let hasData = false
    let type = ''
    let id
    let lastEventId = ''
    const line = (text, pos, end) => {
      if (end === pos) {
        if (hasData) onEvent({ type: type || 'message', data, id, lastEventId })
        data = type = ''
        hasData = false
        id = undefined
      } else if (text.charCodeAt(pos) === 100 && text.charCodeAt(pos + 4) === 58) {
        const value = text.slice(text.charCodeAt(pos + 5) === 32 ? pos + 6 : pos + 5, end)
        data = hasData ? data + '\n' + value : value
        hasData = true
      } else {
        const colon = text.indexOf(':', pos)
        const value = text.slice(text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1, end)
        const name = text.slice(pos, colon)
        if (name === 'id') id = lastEventId = value
        else if (name === 'event') type = value
      }
    }
    // The same line loop as the raw scan, written out again rather than shared: a shared loop
    // calling back per line would be one call site for both and slow the ceiling down.
    for (const chunk of chunks) {
      const text = decoder.decode(chunk, { stream: true })
      let pos = 0
      let lf = text.indexOf('\n')
      while (lf !== -1) {
        if (carry) {
          const whole = carry + text.slice(pos, lf)
          carry = ''
          line(whole, 0, whole.length)
        } else line(text, pos, lf)
        pos = lf + 1
        lf = text.indexOf('\n', pos)
      }
      if (pos < text.length) carry += text.slice(pos)
    }
    return events
  },
}

function time(fn, chunks) {
  const start = process.hrtime.bigint()
  const events = fn(chunks)
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, events }
}

const rows = []
for (const c of corpora) {
  for (const size of chunkSizes) {
    const chunks = split(c.bytes, size)
    const row = { corpus: c.name, chunk: size, bytes: c.bytes.length, results: {} }
    // Warm up every contender on this input, then alternate them rep by rep so drift hits all alike.
    for (const fn of Object.values(contenders)) fn(chunks)
    const best = {}
    for (let r = 0; r < REPS; r++) {
      for (const [name, fn] of Object.entries(contenders)) {
        const { ms, events } = time(fn, chunks)
        if (events !== c.events) throw new Error(`${name} counted ${events} events on ${c.name}, expected ${c.events}`)
        best[name] = Math.min(best[name] ?? Infinity, ms)
      }
    }
    for (const [name, ms] of Object.entries(best)) {
      row.results[name] = { ms, mbps: c.bytes.length / 1e6 / (ms / 1000), eventsPerSec: c.events / (ms / 1000) }
    }
    row.vsEventsourceParser = best['eventsource-parser'] / best.subwire
    row.vsRawScan = best['raw scan'] / best.subwire
    // What the two targets ask of each other: 1.5× eventsource-parser, expressed as × raw scan.
    row.rawNeededFor15 = (1.5 * best['raw scan']) / best['eventsource-parser']
    row.floorVsEventsourceParser = best['eventsource-parser'] / best.floor
    rows.push(row)
    console.log(
      `${c.name.padEnd(32)} ${String(size).padStart(6)} B  subwire ${row.results.subwire.mbps.toFixed(0).padStart(5)} MB/s  ` +
        `es-parser ${row.results['eventsource-parser'].mbps.toFixed(0).padStart(5)} MB/s  raw ${row.results['raw scan'].mbps.toFixed(0).padStart(5)} MB/s  ` +
        `→ ${row.vsEventsourceParser.toFixed(2)}× es-parser, ${row.vsRawScan.toFixed(2)}× raw (1.5× es-parser = ${row.rawNeededFor15.toFixed(2)}× raw; floor ${row.floorVsEventsourceParser.toFixed(2)}× es-parser)`,
    )
  }
}

// What decoding alone costs: the streaming TextDecoder the other contenders use, and the one-shot
// decode() subwire's parser can use because it cuts chunks at whole characters itself.
const decoding = []
for (const c of corpora) {
  for (const size of [1024, 65536]) {
    const chunks = split(c.bytes, size)
    const ways = {
      streaming: () => { const d = new TextDecoder(); for (const chunk of chunks) d.decode(chunk, { stream: true }) },
      'one-shot': () => { const d = new TextDecoder('utf-8', { ignoreBOM: true }); for (const chunk of chunks) d.decode(chunk) },
    }
    const best = {}
    for (let r = 0; r < REPS; r++) {
      for (const [name, fn] of Object.entries(ways)) {
        const start = process.hrtime.bigint()
        fn()
        best[name] = Math.min(best[name] ?? Infinity, Number(process.hrtime.bigint() - start) / 1e6)
      }
    }
    decoding.push({ corpus: c.name, chunk: size, ...best })
    console.log(`decode ${c.name.padEnd(32)} ${String(size).padStart(6)} B  streaming ${best.streaming.toFixed(1)} ms  one-shot ${best['one-shot'].toFixed(1)} ms`)
  }
}

const meta = {
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  eventsourceParser: require('eventsource-parser/package.json').version,
  reps: REPS,
}
await mkdir(new URL('./.results/', import.meta.url), { recursive: true })
await writeFile(new URL('./.results/parser.json', import.meta.url), JSON.stringify({ meta, rows, decoding }, null, 2))

if (!QUICK) {
  const { replaceSection } = await import('./docs.mjs')
  const table = [
    `Measured ${meta.date} on ${meta.cpu} (${meta.cores} cores, ${meta.memoryGiB} GiB), Node ${meta.node}, eventsource-parser ${meta.eventsourceParser}; best of ${meta.reps} runs, contenders alternated. Produced by \`npm run bench:parser\`.`,
    '',
    '| corpus | chunk | subwire MB/s | subwire events/s | eventsource-parser MB/s | raw scan MB/s | × eventsource-parser | × raw scan | × raw scan that 1.5× eventsource-parser means | floor × eventsource-parser |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) =>
      `| ${r.corpus} | ${r.chunk >= 1024 ? r.chunk / 1024 + ' KiB' : r.chunk + ' B'} | ${r.results.subwire.mbps.toFixed(0)} | ${fmt(r.results.subwire.eventsPerSec)} | ${r.results['eventsource-parser'].mbps.toFixed(0)} | ${r.results['raw scan'].mbps.toFixed(0)} | ${r.vsEventsourceParser.toFixed(2)} | ${r.vsRawScan.toFixed(2)} | ${r.rawNeededFor15.toFixed(2)} | ${r.floorVsEventsourceParser.toFixed(2)} |`,
    ),
  ].join('\n')
  await replaceSection('parser', table)
  await replaceSection(
    'decoding',
    [
      `Same run. Milliseconds to decode each corpus with \`TextDecoder\`, best of ${meta.reps}.`,
      '',
      '| corpus | chunk | streaming (`stream: true`) ms | one-shot ms | streaming ÷ one-shot |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...decoding.map((d) => `| ${d.corpus} | ${d.chunk / 1024} KiB | ${d.streaming.toFixed(1)} | ${d['one-shot'].toFixed(1)} | ${(d.streaming / d['one-shot']).toFixed(2)} |`),
    ].join('\n'),
  )
  console.log('docs/benchmarks.md updated')
}

function fmt(n) {
  return n >= 1e6 ? (n / 1e6).toFixed(2) + ' M' : n >= 1e3 ? (n / 1e3).toFixed(0) + ' k' : n.toFixed(0)
}
