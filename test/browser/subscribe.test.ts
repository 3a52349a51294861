// Each transport on its own, in Chromium against the reference server: 1000 events, some of them
// multi-line, with the server restarted three times mid-stream. The page must receive every event
// exactly once, in order, and each reconnect must resume from the last id the page had.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, openPage, startServer, type TestServer } from './harness'

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

interface Recorded {
  events: Array<{ type: string; data: string; id?: string; lastEventId: string; transport: string }>
  states: Array<{ state: string; transport: string; attempt: number }>
  errors: Array<{ name: string; message: string }>
  opens: string[]
}

const record = (page: Page) => page.evaluate(() => (window as unknown as { __record: Recorded }).__record)

async function waitForCount(page: Page, count: number) {
  await page.waitForFunction((n) => (window as unknown as { __record: Recorded }).__record.events.length >= n, count, {
    timeout: 60_000,
    polling: 50,
  })
}

const dataOf = (i: number) => (i % 10 === 0 ? `line one of ${i}\nline two\n\nline four` : `event ${i} ✓`)

const variants = [
  ['websocket', {}],
  ['eventsource', {}],
  ['eventsource', { eventsource: 'native' }],
  ['longpoll', {}],
  ['poll', {}],
] as const

describe.each(variants)('%s transport %j', (transport, extra) => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ heartbeatMs: 1000, holdMs: 2000 })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('delivers 1000 events exactly once, in order, across three server restarts, resuming from the last id', async () => {
    const options = { transports: [transport], retry: { initialDelay: 100, maxDelay: 400 }, pollInterval: 50, ...extra }
    const { page, errors } = await openPage(
      browser,
      `${server.origin}/test/browser/pages/subscribe.html?options=${encodeURIComponent(JSON.stringify(options))}`,
    )
    await page.waitForFunction(() => (window as unknown as { __sub: { state: string } }).__sub.state === 'open')
    const started = Date.now()
    let published = 0
    const resumeIds: string[] = []
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 250; k++) {
        published++
        server.publish({ event: published % 3 === 0 ? 'tick' : undefined, data: dataOf(published) })
        if (k % 50 === 0) await new Promise((r) => setTimeout(r, 5))
      }
      await waitForCount(page, published)
      if (round < 3) {
        // Every connection dies and new ones are refused for 300 ms; the next round is published
        // at once, while the client is away, so it must come through the replay.
        resumeIds.push(String(published))
        await server.restart(300)
      }
    }
    await waitForCount(page, 1000)
    const seen = await record(page)
    const ids = seen.events.map((e) => Number(e.lastEventId))
    expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
    expect(seen.events.map((e) => e.data)).toEqual(Array.from({ length: 1000 }, (_, i) => dataOf(i + 1)))
    expect(seen.events.every((e) => e.transport === transport)).toBe(true)
    expect(seen.events.filter((e) => e.type === 'tick').length).toBe(333)
    const resumed = server.connections.filter((c) => c.transport === transport).map((c) => c.lastEventId)
    for (const id of resumeIds) expect(resumed).toContain(id)
    // Never asked to go back: the resume point only moves forward.
    const numeric = resumed.filter((id): id is string => id !== null).map(Number)
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b))
    expect(errors).toEqual([])
    console.log(`${transport}: 1000 events, 3 restarts, ${Date.now() - started} ms, ${resumed.length} connections/polls`)
    await page.close()
  })
})
