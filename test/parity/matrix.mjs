// The parity matrix: the same plain servers read side by side by the browser's own EventSource
// and by subwire, in Chromium. The native object is the referee: wherever it delivers every event
// exactly once, subwire must too, in order, within the native time × 1.25 + 1 s; where it
// duplicates or loses, subwire must not do worse. Used by test/browser/parity.test.ts (the rule,
// in `npm test`) and bench/parity.mjs (the table in docs/benchmarks.md).
import { plainServer, UNICODE } from './servers.mjs'

/** Allowed time: the native object's × 1.25 + 1 s. */
export const slack = (nativeMs) => Math.round(nativeMs * 1.25 + 1000)

const quick = { total: 200, interval: 10 }

/**
 * Rows: a scenario, the server kind subwire reads (the native object always reads the SSE server
 * of the same scenario), and the origin setups it runs in.
 */
export const ROWS = [
  { name: 'cut every 50 events, clean end, no retry field', kind: 'sse', scenario: { ...quick, cutEvery: 50 } },
  { name: 'cut every 50 events, connection reset, retry 1000', kind: 'sse', scenario: { ...quick, cutEvery: 50, cutHow: 'reset', retry: 1000 } },
  { name: 'cut every 50 events, retry 0', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 0 } },
  { name: 'cut every 100 events, retry 50', kind: 'sse', scenario: { total: 500, interval: 4, cutEvery: 100, retry: 50 } },
  { name: 'one cut, retry 5000', kind: 'sse', scenario: { total: 100, interval: 20, cutEvery: 50, retry: 5000 } },
  {
    name: 'one event per response, retry 1000',
    kind: 'sse',
    scenario: { total: 8, interval: 50, onePerResponse: true, retry: 1000 },
    // A fetch cannot send Last-Event-ID across origins without a preflight this server refuses, and
    // the server reads nothing else: it answers every request with its first event.
    limits: { 'subwire fetch': { origin: 'eventsource: fetch across origins cannot resume on a server that reads only the header and refuses the preflight' } },
  },
  {
    name: 'one event per response, held until it exists, retry 0',
    kind: 'sse',
    scenario: { total: 5, interval: 1500, onePerResponse: true, retry: 0 },
    limits: { 'subwire fetch': { origin: 'eventsource: fetch across origins cannot resume on a server that reads only the header and refuses the preflight' } },
  },
  // The tutorial server: one new event per response, no ids, and a retry field (PHP's echo-and-exit).
  { name: 'one event per response, no ids, retry 1000', kind: 'sse', scenario: { total: 6, interval: 50, onePerResponse: true, ids: 'absent', retry: 1000 } },
  // The script that answers what is new, often nothing, and exits; the browser comes back after retry.
  { name: 'each response what is new (often nothing), then its end, retry 1000', kind: 'sse', scenario: { total: 6, interval: 1500, atOnce: true, retry: 1000 } },
  // A greeting without an id first on every connection (`event: hello`), then what the server holds.
  { name: 'a greeting without an id on each connection, cut every 50 events', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, hello: true } },
  { name: 'a stream cut every 2 s, steady events, no retry field', kind: 'sse', scenario: { total: 300, interval: 20, cutEvery: 100 } },
  { name: 'server down 2 s, retry 500', kind: 'sse', scenario: { ...quick, down: { after: 60, ms: 2000 }, retry: 500 } },
  { name: 'server down 3 s, retry 50', kind: 'sse', scenario: { ...quick, down: { after: 60, ms: 3000 }, retry: 50 } },
  { name: 'no ids, cut every 50 events', kind: 'sse', scenario: { ...quick, ids: 'absent', cutEvery: 50, retry: 500 } },
  { name: 'ids restart from a new sequence', kind: 'sse', scenario: { ...quick, ids: 'restart', restartAt: 100, retry: 500 } },
  { name: 'comments as keepalive, cut every 100', kind: 'sse', scenario: { ...quick, keepalive: 50, cutEvery: 100, retry: 500 } },
  { name: 'multi-line data, named events, cut every 70', kind: 'sse', scenario: { ...quick, lines: 3, types: ['a', 'b'], cutEvery: 70, retry: 500 } },
  // Ids that name the stream, not a place in it: the same id on every event; nothing is replayed.
  { name: 'the same id on every event, cut every 50 events', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, ids: 'constant' } },
  // Event types named like the client's lifecycle events (a server's own `error`, `reset`, …).
  { name: 'events named update, error, reset, state and open, cut every 50', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, types: ['update', 'error', 'reset', 'state', 'open'] } },
  // A server that routes on the exact URL (`req.url === '/events'`): anything added to it is a 404.
  { name: 'routed on the exact URL, cut every 50', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, exact: true } },
  { name: 'routed on the exact URL, server down 2 s', kind: 'sse', scenario: { ...quick, down: { after: 60, ms: 2000 }, retry: 500, exact: true } },
  // Without ids, an event named `reset` first on each connection (a server's state, sent first).
  { name: 'no ids, events named reset and update in turn, cut every 50', kind: 'sse', scenario: { ...quick, ids: 'absent', types: ['reset', 'update'], cutEvery: 50, retry: 500 } },
  // The stream's bytes as frameworks write them: CRLF line ends and a byte order mark; CR alone.
  { name: 'CRLF line ends and a byte order mark, cut every 50', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, eol: '\r\n', bom: true } },
  { name: 'CR line ends, two data lines, cut every 50', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, eol: '\r', lines: 2 } },
  // A cut in the middle of an event: its id was read, the event never ended (not dispatched, so
  // not the resume point).
  { name: 'cut in the middle of an event every 50, clean end', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, partial: true } },
  { name: 'cut in the middle of an event every 50, reset', kind: 'sse', scenario: { ...quick, cutEvery: 50, cutHow: 'reset', retry: 500, partial: true } },
  // A server that writes in bursts (a batch job) is no buffering proxy; big events; a redirect.
  { name: 'bursts of 20 events, comments as keepalive, cut every 100', kind: 'sse', scenario: { total: 400, interval: 200, burst: 20, keepalive: 100, cutEvery: 100, retry: 500 } },
  { name: 'events of 256 KiB, cut every 10', kind: 'sse', scenario: { total: 40, interval: 20, size: 262144, cutEvery: 10, retry: 500 } },
  { name: 'a 307 redirect to the stream, cut every 50', kind: 'sse', scenario: { ...quick, cutEvery: 50, retry: 500, redirect: true } },
  // Text outside ASCII, the stream split anywhere (a proxy or a slow link): lines, fields and
  // characters cut between pieces.
  { name: 'text outside ASCII written 3 bytes at a time, cut every 50', kind: 'sse', scenario: { total: 100, interval: 20, unicode: true, trickle: 3, cutEvery: 50, retry: 500 } },
  { name: 'text outside ASCII, CRLF, written 2 bytes at a time, cut every 30', kind: 'sse', scenario: { total: 60, interval: 30, unicode: true, trickle: 2, eol: '\r\n', cutEvery: 30, retry: 500 } },
  // Compression middleware in front of the stream (gzip, flushed after every write).
  { name: 'a gzip-compressed stream, cut every 50', kind: 'sse', scenario: { ...quick, gzip: true, cutEvery: 50, retry: 500 } },
  { name: 'WebSocket: closed (1000) every 50 events', kind: 'ws', scenario: { ...quick, cutEvery: 50, retry: 1000 } },
  { name: 'WebSocket: reset every 50 events', kind: 'ws', scenario: { ...quick, cutEvery: 50, cutHow: 'reset', retry: 1000 } },
  { name: 'WebSocket: server down 2 s', kind: 'ws', scenario: { ...quick, down: { after: 60, ms: 2000 }, retry: 500 } },
  { name: 'WebSocket: ids restart', kind: 'ws', scenario: { ...quick, ids: 'restart', restartAt: 100, retry: 500 } },
  { name: 'WebSocket: text outside ASCII, closed every 50', kind: 'ws', scenario: { ...quick, unicode: true, cutEvery: 50, retry: 500 } },
  { name: 'WebSocket: the same id on every event', kind: 'ws', scenario: { ...quick, cutEvery: 50, retry: 500, ids: 'constant' } },
  { name: 'WebSocket: no ids, events named reset and update in turn', kind: 'ws', scenario: { ...quick, ids: 'absent', types: ['reset', 'update'], cutEvery: 50, retry: 500 } },
  { name: 'WebSocket: events named update, error, reset, state and open', kind: 'ws', scenario: { ...quick, cutEvery: 50, retry: 500, types: ['update', 'error', 'reset', 'state', 'open'] } },
  { name: 'long polling: steady events', kind: 'longpoll', scenario: { ...quick, cutEvery: 50, retry: 500 } },
  // (Events only while a request waits, one per answer: a poll's round trip paces the server, so
  // the events come 50 ms apart, not 10, for the native object too — a round trip on a loaded
  // two-core machine took up to 55 ms.)
  {
    name: 'long polling: the same id on every event',
    kind: 'longpoll',
    scenario: { total: 200, interval: 50, cutEvery: 50, retry: 500, ids: 'constant' },
    limits: { 'subwire default': { origin: 'the default eventsource across origins turns to the native EventSource (Last-Event-ID refused), which cannot read the long-poll answer it takes' } },
  },
  { name: 'long polling: server down 2 s', kind: 'longpoll', scenario: { ...quick, down: { after: 60, ms: 2000 }, retry: 500 } },
  { name: 'long polling: text outside ASCII', kind: 'longpoll', scenario: { ...quick, unicode: true, retry: 500 } },
  { name: 'long polling: ids restart', kind: 'longpoll', scenario: { ...quick, ids: 'restart', restartAt: 100, retry: 500 } },
]

/** The origin setups: the page's own origin, another that sends only Allow-Origin, another that answers preflights. */
export const SETUPS = ['same', 'origin', 'preflight']

/** subwire's clients per server kind: their names and options. */
export const CLIENTS = {
  sse: {
    'subwire fetch': { transports: ['eventsource'], eventsource: 'fetch' },
    'subwire native': { transports: ['eventsource'], eventsource: 'native' },
    'subwire default': {},
  },
  ws: { 'subwire websocket': { transports: ['websocket'] }, 'subwire default': {} },
  longpoll: { 'subwire longpoll': { transports: ['longpoll'] }, 'subwire default': {} },
}

/** Counts for one client: each event by its number k. */
function count(result, total) {
  const once = new Set()
  let duplicates = 0
  let ordered = true
  let last = 0
  for (const k of result.seen) {
    if (once.has(k)) {
      duplicates++
      continue
    }
    once.add(k)
    if (k < last) ordered = false
    last = k
  }
  const missing = []
  for (let k = 1; k <= total && missing.length < 10; k++) if (!once.has(k)) missing.push(k)
  return { delivered: once.size, duplicates, lost: total - once.size, missing, ordered, corrupt: result.corrupt ?? 0, time: result.time, done: result.done }
}

/**
 * Whether `got` keeps the rule against the native object's `ref`; the reasons when not. Where a row
 * names a documented limit for the client, it must still deliver nothing twice and in order.
 */
export function judge(ref, got, limit) {
  const reasons = []
  if (got.corrupt > ref.corrupt) reasons.push(`${got.corrupt} with their text garbled (native ${ref.corrupt})`)
  if (limit) {
    if (got.duplicates) reasons.push(`${got.duplicates} duplicated`)
    if (!got.ordered) reasons.push('out of order')
  } else if (ref.lost === 0 && ref.duplicates === 0 && ref.ordered) {
    if (got.lost) reasons.push(`${got.lost} lost`)
    if (got.duplicates) reasons.push(`${got.duplicates} duplicated`)
    if (!got.ordered) reasons.push('out of order')
    if (got.time > slack(ref.time)) reasons.push(`${got.time} ms > ${slack(ref.time)} ms (native ${ref.time} ms × 1.25 + 1 s)`)
  } else {
    if (got.lost > ref.lost) reasons.push(`${got.lost} lost (native ${ref.lost})`)
    if (got.duplicates > ref.duplicates) reasons.push(`${got.duplicates} duplicated (native ${ref.duplicates})`)
  }
  return reasons
}

/**
 * Run every row in every setup. `browser`: a Playwright Browser; `pageOrigin`: where the
 * cross-origin clients' page is served (the reference server). Returns one result per row and setup.
 */
export async function runMatrix({ browser, pageOrigin, rows = ROWS, setups = SETUPS, concurrency = 5, timeout = 45000, log = () => {} }) {
  const jobs = []
  for (const row of rows) for (const setup of setups) if (row.kind !== 'ws' || setup !== 'preflight') jobs.push({ row, setup })
  const results = []
  const context = await browser.newContext()
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]
      const result = await runJob(context, pageOrigin, job, timeout)
      log(result)
      results.push(result)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  // A case that broke only the time rule while other cases ran beside it (five at a time on a
  // shared machine: one slow moment costs a second) is run once more alone, and that run is judged.
  // Losses, duplicates, disorder and garbled text are never run again.
  for (const [i, result] of results.entries()) {
    if (!result.clients.some((c) => c.reasons.length) || !result.clients.every((c) => c.reasons.every((r) => / ms > /.test(r)))) continue
    const job = jobs.find((j) => j.row.name === result.row && j.setup === result.setup)
    const again = await runJob(context, pageOrigin, job, timeout)
    again.rerun = result.clients.filter((c) => c.reasons.length).map((c) => `${c.name}: ${c.reasons.join('; ')}`).join(', ')
    log(again)
    results[i] = again
  }
  await context.close()
  return results.sort((a, b) => jobs.findIndex((j) => j.row.name === a.row && j.setup === a.setup) - jobs.findIndex((j) => j.row.name === b.row && j.setup === b.setup))
}

async function runJob(context, pageOrigin, { row, setup }, timeout) {
  const { scenario, kind } = row
  const specs = [['native', 'sse', {}], ...Object.entries(CLIENTS[kind]).map(([name, options]) => [name, kind, options])]
  const runs = await Promise.all(
    specs.map(async ([name, serverKind, options]) => {
      // WebSocket has no CORS: a cross-origin WebSocket row runs with an SSE referee of the same setup.
      const server = await plainServer(serverKind, scenario, setup)
      const streamOrigin = `http://127.0.0.1:${server.port}`
      const page = await context.newPage()
      const errors = []
      page.on('pageerror', (e) => errors.push(String(e)))
      try {
        await page.goto(`${setup === 'same' ? streamOrigin : pageOrigin}/test/browser/pages/parity.html`)
        await page.waitForFunction(() => window.ready)
        const url = `${streamOrigin}/${serverKind === 'sse' ? 'events' : serverKind}`
        const result = await page.evaluate((spec) => window.runClient(spec), {
          client: name === 'native' ? 'native' : 'subwire',
          url,
          options: options,
          total: scenario.total,
          types: scenario.types ?? [],
          timeout,
          mark: scenario.unicode ? UNICODE : undefined,
        })
        return { name, ...count(result, scenario.total), requests: server.stats.requests, preflights: server.stats.preflights, withHeader: server.stats.withHeader, errors: [...errors, ...result.errors], states: result.states, resets: result.resets }
      } finally {
        await page.close()
        await server.close()
      }
    }),
  )
  const [ref, ...others] = runs
  return {
    row: row.name,
    kind,
    setup,
    native: ref,
    clients: others.map((got) => {
      const limit = row.limits?.[got.name]?.[setup]
      return { ...got, limit, reasons: judge(ref, got, limit) }
    }),
  }
}
