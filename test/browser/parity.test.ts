// The parity matrix in Chromium (test/parity/): plain servers read side by side by the browser's
// own EventSource and by subwire (fetch, native, default negotiation; WebSocket and long polling
// against plain `ws` and long-poll servers). Wherever the native object delivers every event once,
// subwire must too, in order, within its time × 1.25 + 1 s; where it duplicates or loses, subwire
// must not do worse. A case that broke only the time rule while others ran beside it is run once
// more alone, and that run is judged (matrix.mjs). `npm run bench:parity` writes the same run's
// table into docs/benchmarks.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../../scripts/chromium.mjs'
// @ts-expect-error -- plain ESM module without declarations
import { ROWS, SETUPS, runMatrix } from '../parity/matrix.mjs'
import { startServer, type TestServer } from './harness'

interface ClientResult {
  name: string
  delivered: number
  duplicates: number
  lost: number
  time: number
  requests: number
  limit?: string
  reasons: string[]
  errors: string[]
}
interface Result {
  row: string
  setup: string
  native: ClientResult
  clients: ClientResult[]
  /** The first run's reasons, when the case broke only the time rule and was run again alone. */
  rerun?: string
}

let browser: Browser
let server: TestServer
const results = new Map<string, Result>()

beforeAll(async () => {
  // Pages of a test run side by side: none is throttled as a background tab.
  browser = await launchChromium(['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'])
  server = await startServer()
  const all: Result[] = await runMatrix({ browser, pageOrigin: server.origin })
  for (const r of all) results.set(`${r.row} [${r.setup}]`, r)
}, 600_000)
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const cases = (ROWS as Array<{ name: string; kind: string }>).flatMap((row) =>
  (SETUPS as string[]).filter((setup) => row.kind !== 'ws' || setup !== 'preflight').map((setup) => `${row.name} [${setup}]`),
)

describe('parity with the native EventSource on plain servers, in Chromium', () => {
  it.each(cases)('%s', (key) => {
    const result = results.get(key)
    expect(result, 'the matrix ran this case').toBeDefined()
    const n = result!.native
    if (result!.rerun) console.log(`[parity] ${key}: run again alone; beside the others ${result!.rerun}`)
    console.log(`[parity] ${key}: native ${n.delivered}/${n.duplicates} dup/${n.lost} lost ${n.time} ms ${n.requests} req; ${result!.clients.map((c) => `${c.name} ${c.delivered}/${c.duplicates}/${c.lost} ${c.time} ms ${c.requests} req`).join('; ')}`)
    for (const client of result!.clients) expect(client.reasons, `${client.name}${client.limit ? ` (limit: ${client.limit})` : ''}; errors: ${client.errors.join(' | ')}`).toEqual([])
  })
})
