// Sharing in Chromium: one browser context, several pages as tabs of one origin, against the
// reference server (HTTP/1.1, where a browser opens at most six connections per origin). The pages
// load the UMD bundle and its cross-tab add-on (pages/tabs.html).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { launchBrowser, startServer, type TestServer } from './harness'

let browser: Browser
let server: TestServer

beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

interface Tab {
  events: Array<{ data: string; id?: string | undefined; at: number }>
  states: string[]
  errors: string[]
  shared?: string | undefined
}

/** Open a page of the context (no subscription yet). */
async function tab(context: BrowserContext, path = '/test/browser/pages/tabs.html'): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${server.origin}${path}`)
  return page
}

/** Subscribe in a page, recording events (with the page's clock), states, errors and the sharing role. */
async function subscribeIn(page: Page, options: Record<string, unknown>): Promise<void> {
  await page.evaluate((o) => {
    const w = window as unknown as { tab: Tab; sub: { close(): void }; subscribe?: typeof import('../../src/index').subscribe; Subwire: typeof import('../../src/index') }
    const tab: Tab = (w.tab = { events: [], states: [], errors: [] })
    const sub = (w.subscribe ?? w.Subwire.subscribe)('/events', { rememberFor: 0, ...o })
    w.sub = sub
    sub.on('message', (e) => tab.events.push({ data: e.data, id: e.id, at: Date.now() }))
    sub.on('state', (s) => {
      tab.states.push(`${s.state}:${s.transport}:${s.shared}`)
      tab.shared = s.shared
    })
    sub.on('error', (e) => tab.errors.push(e.message))
  }, options)
}

const read = (page: Page) => page.evaluate(() => (window as unknown as { tab: Tab }).tab)

/**
 * Until every tab's last event is `e<n>`. On a timeout the error says where each tab stands: its
 * last event, its role, its last states and errors.
 */
async function everyTabAt(pages: Page[], n: number, polling = 50): Promise<void> {
  try {
    await Promise.all(pages.map((page) => page.waitForFunction((k) => (window as unknown as { tab: Tab }).tab.events.at(-1)?.data === `e${k}`, n, { timeout: 30_000, polling })))
  } catch (error) {
    const where = await Promise.all(
      pages.map(async (page, i) => {
        const t = await read(page).catch(() => undefined)
        return t ? `tab ${i}: last ${t.events.at(-1)?.data} (${t.events.length} events), ${t.shared}, states ${t.states.slice(-4).join(' ')}, errors ${t.errors.slice(-3).join(' | ')}` : `tab ${i}: gone`
      }),
    )
    throw new Error(`not every tab reached e${n} in 30 s:\n${where.join('\n')}`, { cause: error })
  }
}
const count = (page: Page, n: number, timeout = 30_000) =>
  page.waitForFunction((k) => (window as unknown as { tab: Tab }).tab.events.length >= k, n, { timeout, polling: 50 })

/** The longest two streams may overlap at a handover (the old socket closing after the next leader connected), in ms. */
const OVERLAP = 250

describe('sharing across tabs in Chromium', () => {
  it('10 tabs on one SSE endpoint of an HTTP/1.1 server: one stream; an 11th tab still loads and fetches at once', async () => {
    server = await startServer({ heartbeatMs: 1000 })
    const context = await browser.newContext()
    try {
      const pages = await Promise.all(Array.from({ length: 10 }, () => tab(context)))
      for (const page of pages) await subscribeIn(page, { transports: ['eventsource'] })
      await count(pages[0]!, 0)
      for (let i = 1; i <= 10; i++) server.publish({ data: `e${i}` })
      for (const page of pages) await count(page, 10)
      const streams = server.connections.filter((c) => c.transport === 'eventsource').length
      const roles = await Promise.all(pages.map(async (p) => (await read(p)).shared))
      console.log(`[sharing] 10 tabs: ${streams} stream(s) at the server; roles ${roles.join(' ')}`)
      expect(streams).toBe(1)
      expect(roles.filter((r) => r === 'leader')).toHaveLength(1)
      expect(roles.filter((r) => r === 'follower')).toHaveLength(9)
      for (const page of pages) expect((await read(page)).events.map((e) => e.data)).toEqual(Array.from({ length: 10 }, (_, i) => `e${i + 1}`))
      const started = Date.now()
      const eleventh = await tab(context)
      const answered = await eleventh.evaluate(async () => {
        const t = performance.now()
        await fetch('/control/state')
        return performance.now() - t
      })
      console.log(`[sharing] 11th tab loaded in ${Date.now() - started} ms, a fetch answered in ${answered.toFixed(0)} ms`)
      expect(answered).toBeLessThan(1000)
    } finally {
      await context.close()
      await server.close()
    }
  })

  it('the same with share off: the seventh stream waits for a connection, and the error says why and what to do (development build)', async () => {
    server = await startServer({ heartbeatMs: 1000 })
    const context = await browser.newContext()
    try {
      const pages = await Promise.all(Array.from({ length: 10 }, () => tab(context, '/test/browser/pages/development.html')))
      for (const page of pages) await subscribeIn(page, { transports: ['eventsource'], share: false, connectTimeout: 3000 })
      await new Promise((r) => setTimeout(r, 4500))
      const tabs = await Promise.all(pages.map(read))
      const stalled = tabs.filter((t) => t.errors.some((e) => /six connections per origin/.test(e)))
      console.log(`[sharing] share off: ${server.connections.filter((c) => c.transport === 'eventsource').length} streams reached the server; ${stalled.length} tabs stalled`)
      expect(stalled.length).toBeGreaterThanOrEqual(4)
      expect(stalled[0]!.errors[0]).toMatch(
        /eventsource: no answer within connectTimeout \(3000 ms\): this origin speaks HTTP\/1\.1, where a browser opens at most six connections per origin for all its tabs, and this request may be waiting for one: share connections \(share: 'tabs'\), serve over HTTP\/2, or open fewer streams/,
      )
      // Any other request to this origin waits too.
      const fetched = await pages[0]!.evaluate(() =>
        fetch('/control/state', { signal: AbortSignal.timeout(1500) }).then(
          () => 'answered',
          () => 'stalled',
        ),
      )
      expect(fetched).toBe('stalled')
    } finally {
      await context.close()
      await server.close()
    }
  })

  it.each(['eventsource', 'websocket', 'longpoll'])(
    '%s: 5 tabs, 3000 events, the leader closed every 500 events (once crashed): every tab gets every event once, in order',
    async (transport) => {
      server = await startServer({ heartbeatMs: 1000, holdMs: 2000 })
      const context = await browser.newContext()
      const options = { transports: [transport], retry: { initialDelay: 50, maxDelay: 300 } }
      const handovers: number[] = []
      try {
        const open = await Promise.all(Array.from({ length: 5 }, () => tab(context)))
        for (const page of open) await subscribeIn(page, options)
        const all = [...open]
        const closedPages = new Set<Page>()
        let published = 0
        for (let round = 0; round < 6; round++) {
          for (let i = 0; i < 500; i++) server.publish({ data: `e${++published}` })
          await everyTabAt(open, published)
          if (round === 5) break
          // Close the leader (the fourth time: crash it), publish one event, time its arrival everywhere.
          const roles = await Promise.all(open.map(async (p) => (await read(p)).shared))
          const leader = open[roles.indexOf('leader')]!
          const t0 = Date.now()
          if (round === 3) {
            const cdp = await context.newCDPSession(leader)
            void cdp.send('Page.crash').catch(() => {})
          } else await leader.close({ runBeforeUnload: false })
          closedPages.add(leader)
          open.splice(open.indexOf(leader), 1)
          server.publish({ data: `e${++published}` })
          await everyTabAt(open, published, 20)
          const arrived = await Promise.all(open.map(async (p) => (await read(p)).events.at(-1)!.at))
          handovers.push(Math.max(...arrived) - t0)
          // A new tab joins, as people open them.
          const fresh = await tab(context)
          await subscribeIn(fresh, options)
          open.push(fresh)
          all.push(fresh)
        }
        for (const page of open) {
          const seen = (await read(page)).events.map((e) => Number(e.data.slice(1)))
          // Contiguous from where the tab joined, to the end: nothing lost, nothing doubled.
          expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen[0]! + i))
          expect(seen.at(-1)).toBe(published)
        }
        const sorted = [...handovers].sort((a, b) => a - b)
        console.log(`[sharing] ${transport}: ${published} events, ${handovers.length} handovers: median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`)
        expect(sorted.at(-1)).toBeLessThan(1000)
        const original = open.filter((p) => !all.slice(5).includes(p))
        for (const page of original) expect((await read(page)).events).toHaveLength(published)
      } finally {
        await context.close()
        await server.close()
      }
    },
    120_000,
  )

  it(
    '10 tabs at 500 events/s, the leader crashed, frozen and closed in turn: every tab gets every event from its start once, in order; one stream at the server but for a handover\'s closing socket',
    async () => {
      server = await startServer({ heartbeatMs: 1000 })
      const context = await browser.newContext()
      const options = { transports: ['eventsource'], retry: { initialDelay: 50, maxDelay: 300 } }
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
      let publisher: ReturnType<typeof setInterval> | undefined
      try {
        const open = await Promise.all(Array.from({ length: 10 }, () => tab(context)))
        for (const page of open) await subscribeIn(page, options)
        await open[0]!.waitForFunction(() => (window as unknown as { tab: Tab }).tab.states.some((s) => s.startsWith('open')), null, { timeout: 10_000 })
        server.peak()
        let published = 0
        publisher = setInterval(() => {
          for (let i = 0; i < 5; i++) server.publish({ data: `e${++published}` })
        }, 10)
        const done: string[] = []
        const times: Array<[string, number]> = []
        for (const action of ['crash', 'freeze', 'close', 'crash', 'freeze', 'close']) {
          await sleep(1200)
          const roles = await Promise.all(open.map(async (p) => (await read(p)).shared))
          expect(roles.filter((r) => r === 'leader'), `roles before ${action}: ${roles.join(' ')}`).toHaveLength(1)
          const leader = open[roles.indexOf('leader')]!
          const at = Date.now()
          if (action === 'crash') {
            const cdp = await context.newCDPSession(leader)
            void cdp.send('Page.crash').catch(() => {})
            open.splice(open.indexOf(leader), 1)
          } else if (action === 'close') {
            await leader.close({ runBeforeUnload: false })
            open.splice(open.indexOf(leader), 1)
          } else {
            // Frozen for a second, then back. Headless Chromium does not freeze a page on request
            // (Page.setWebLifecycleState leaves it running), so the test does what a freeze does:
            // the freeze event, then no task runs for a second (messages from other tabs wait),
            // then the resume event. The tab hands over on freeze and catches up on resume.
            const before = server.connections.length
            await leader.evaluate(() => {
              document.dispatchEvent(new Event('freeze', { bubbles: true }))
              setTimeout(() => {
                const until = Date.now() + 1000
                while (Date.now() < until);
                document.dispatchEvent(new Event('resume', { bubbles: true }))
              })
            })
            await sleep(500)
            // Another tab took over while it was frozen.
            expect(server.connections.length).toBeGreaterThan(before)
            await sleep(600)
          }
          done.push(action)
          times.push([action, at])
          // Tabs come and go as people open them: a new one for each that went.
          while (open.length < 10) {
            const fresh = await tab(context)
            await subscribeIn(fresh, options)
            open.push(fresh)
          }
        }
        await sleep(500)
        clearInterval(publisher)
        const last = published
        await everyTabAt(open, last)
        const peak = server.peak()
        let lost = 0
        let doubled = 0
        for (const page of open) {
          const seen = (await read(page)).events.map((e) => Number(e.data.slice(1)))
          const unique = new Set(seen)
          doubled += seen.length - unique.size
          lost += last - seen[0]! + 1 - unique.size
          // From where the tab started, to the end: contiguous.
          expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen[0]! + i))
        }
        // Two streams overlap only while a handover's old socket closes: the browser closes the
        // socket of a crashed, closed or frozen tab on its own time (its network process, after the
        // tab gave up the lock), a few ms after the next leader connected, at worst, on a loaded
        // machine. Two tabs leading at once would overlap for seconds.
        const now = Date.now()
        const overlaps = server.history.flatMap((a, i) =>
          server.history.slice(i + 1).map((b) => Math.min(a.until ?? now, b.until ?? now) - Math.max(a.since, b.since)).filter((ms) => ms > 0),
        )
        console.log(
          `[sharing] 10 tabs at 500 events/s, ${last} events, leader ${done.join(', ')}: ${lost} lost, ${doubled} doubled, at most ${peak} stream(s) at the server at once, ${server.history.length} streams in all, overlapping ${overlaps.length ? `${overlaps.length}× for at most ${Math.max(...overlaps)} ms` : 'never'}`,
        )
        expect(lost).toBe(0)
        expect(doubled).toBe(0)
        const detail = `streams: ${JSON.stringify(server.history)}; actions: ${JSON.stringify(times)}`
        expect(peak, detail).toBeLessThanOrEqual(2)
        expect(Math.max(0, ...overlaps), detail).toBeLessThanOrEqual(OVERLAP)
      } finally {
        clearInterval(publisher)
        await context.close()
        await server.close()
      }
    },
    120_000,
  )

  it('in one page: 20 components subscribing and leaving at random on 3 endpoints for 10 s: at most 3 connections, no gap, nothing left', async () => {
    server = await startServer({ heartbeatMs: 1000 })
    const context = await browser.newContext()
    try {
      const page = await tab(context, '/test/browser/pages/tracked.html')
      let peak = 0
      const sampler = setInterval(() => (peak = Math.max(peak, server.live())), 10)
      const publisher = setInterval(() => server.publish({ data: 'x' }), 25)
      await page.evaluate(() => {
        const w = window as unknown as { runs: Array<{ ids: number[] }>; stop(): void; Subwire: typeof import('../../src/index') }
        const runs: Array<{ ids: number[] }> = (w.runs = [])
        const live = new Set<{ close(): void }>()
        let stopped = false
        const component = () => {
          if (stopped) return
          const run = { ids: [] as number[] }
          runs.push(run)
          const sub = w.Subwire.subscribe(`/events?endpoint=${Math.floor(Math.random() * 3)}`, { transports: ['eventsource'], rememberFor: 0 })
          live.add(sub)
          sub.on('message', (e) => run.ids.push(Number(e.id)))
          setTimeout(() => {
            sub.close()
            live.delete(sub)
            component()
          }, 200 + Math.random() * 1500)
        }
        for (let i = 0; i < 20; i++) component()
        w.stop = () => {
          stopped = true
          for (const sub of live) sub.close()
        }
      })
      await new Promise((r) => setTimeout(r, 10_000))
      await page.evaluate(() => (window as unknown as { stop(): void }).stop())
      clearInterval(publisher)
      // The grace period passes (the last subscription's timers were the subscription's own).
      await new Promise((r) => setTimeout(r, 2500))
      clearInterval(sampler)
      const runs = await page.evaluate(() => (window as unknown as { runs: Array<{ ids: number[] }> }).runs)
      const left = await page.evaluate(() => (window as unknown as { __track(): { timers: number; windowListeners: number } }).__track())
      console.log(`[sharing] one page: ${runs.length} components over 10 s, at most ${peak} connections at the server, left behind ${JSON.stringify(left)}`)
      expect(runs.length).toBeGreaterThan(60)
      expect(peak).toBeLessThanOrEqual(3)
      for (const run of runs) {
        // While subscribed: every event, in order, no doubles (from the live position it joined at).
        expect(run.ids).toEqual(Array.from({ length: run.ids.length }, (_, i) => run.ids[0]! + i))
      }
      expect(server.live()).toBe(0)
      expect(left).toEqual({ timers: 0, windowListeners: 0 })
    } finally {
      await context.close()
      await server.close()
    }
  }, 60_000)
})
