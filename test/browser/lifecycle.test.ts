// The lifecycle in Chromium against the reference server: quiet channels keep their transport,
// and the iterator sample of getting-started.md stops exactly where it says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser, openPage, startServer, type TestServer } from './harness'

let browser: Browser
let server: TestServer

beforeAll(async () => {
  browser = await launchBrowser()
  // The reference server as documented: long polls held 25 s, stream heartbeats every 15 s.
  server = await startServer({ holdMs: 25000, heartbeatMs: 15000 })
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

interface Watched {
  states: Array<{ state: string; transport: string }>
  errors: string[]
  events: string[]
}

describe('lifecycle in Chromium', () => {
  it('on a quiet channel for 60 s, long polling stays on long polling and native EventSource on eventsource', async () => {
    const watch = async (options: Record<string, unknown>) => {
      const { page, errors } = await openPage(browser, `${server.origin}/test/browser/pages/blank.html`)
      await page.evaluate((o) => {
        const w = window as unknown as { watched: Watched; Subwire: typeof import('../../src/index') }
        const watched: Watched = (w.watched = { states: [], errors: [], events: [] })
        const sub = w.Subwire.subscribe('/events', { ...o, rememberFor: 0 })
        sub.on('state', (s) => watched.states.push({ state: s.state, transport: s.transport! }))
        sub.on('error', (e) => watched.errors.push(e.message))
        sub.on('message', (e) => watched.events.push(e.data))
      }, options)
      return { page, errors }
    }
    const before = server.connections.length
    const longpoll = await watch({ transports: ['longpoll', 'poll'] })
    const native = await watch({ transports: ['eventsource', 'longpoll'], eventsource: 'native' })
    await new Promise((r) => setTimeout(r, 60_000))
    // Then it still works: an event arrives on each.
    server.publish({ data: 'after a quiet minute' })
    for (const { page } of [longpoll, native]) {
      await page.waitForFunction(() => (window as unknown as { watched: Watched }).watched.events.length === 1, undefined, { timeout: 30_000 })
    }
    const lp = await longpoll.page.evaluate(() => (window as unknown as { watched: Watched }).watched)
    const es = await native.page.evaluate(() => (window as unknown as { watched: Watched }).watched)
    console.log(`[lifecycle] quiet minute: longpoll states ${lp.states.map((s) => `${s.state}:${s.transport}`).join(' ')}; native ${es.states.map((s) => `${s.state}:${s.transport}`).join(' ')}`)
    expect(lp.states.every((s) => s.transport === 'longpoll')).toBe(true)
    expect(lp.states.filter((s) => s.state === 'open')).toHaveLength(1)
    expect(lp.errors).toEqual([])
    expect(es.states).toEqual([
      { state: 'connecting', transport: 'eventsource' },
      { state: 'open', transport: 'eventsource' },
    ])
    expect(es.errors).toEqual([])
    const used = server.connections.slice(before).map((c) => c.transport)
    expect(used).not.toContain('poll')
    // Two or three long polls in a minute (each held 25 s), one native stream.
    expect(used.filter((t) => t === 'longpoll').length).toBeLessThanOrEqual(4)
    expect(used.filter((t) => t === 'eventsource')).toHaveLength(1)
    expect([...longpoll.errors, ...native.errors]).toEqual([])
  }, 120_000)

  it("the getting-started iterator sample stops exactly at 'done', on every transport", async () => {
    for (const transport of ['websocket', 'eventsource', 'longpoll', 'poll']) {
      const { page, errors } = await openPage(browser, `${server.origin}/test/browser/pages/blank.html`)
      const last = server.log.length ? String(server.log.at(-1)!.id) : ''
      const got = page.evaluate(
        async ({ transport, last }) => {
          const { subscribe } = (window as unknown as { Subwire: typeof import('../../src/index') }).Subwire
          const controller = new AbortController()
          const seen: string[] = []
          // As in docs/getting-started.md.
          for await (const event of subscribe('/events', { signal: controller.signal, transports: [transport as 'poll'], lastEventId: last, pollInterval: 100 })) {
            seen.push(event.data)
            if (event.data === 'done') controller.abort()
          }
          return seen
        },
        { transport, last },
      )
      await new Promise((r) => setTimeout(r, 300))
      // One write: 'done' and what follows arrive together.
      for (const data of ['a', 'done', 'after 1', 'after 2']) server.publish({ data })
      expect(await got).toEqual(['a', 'done'])
      expect(errors).toEqual([])
      await page.close()
    }
  })
})
