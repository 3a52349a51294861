// subwire against nchan (nginx + libnginx-mod-nchan) with Redis, two nodes, in Chromium. These
// tests fail loudly when nginx, the nchan module or Redis is missing (.ci/run installs them).
// Debian's nchan 1.3.6 crashes a worker when a subscriber resumes with an id into a channel that
// holds no message yet (fixed upstream later): each test publishes before it subscribes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, startServer, type TestServer } from './harness'
import { startNchan, type Nchan, type NchanNode } from '../nchan/nchan.mjs'

type Node = NchanNode

let browser: Browser
let pages: TestServer
let nchan: Nchan

beforeAll(async () => {
  nchan = await startNchan({ nodes: 2 })
  pages = await startServer()
  browser = await launchBrowser()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await pages?.close()
  await nchan?.close()
})

interface Got {
  events: Array<{ data: string; id?: string | undefined; transport: string }>
  errors: string[]
  states: string[]
}

/** A page subscribed to `url` with the nchan preset (or without, when `preset` is false) and `options`. */
async function subscriber(url: string | string[], options: Record<string, unknown>, { preset = true, remember }: { preset?: boolean; remember?: string } = {}): Promise<{ page: Page; got(): Promise<Got> }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(`${pages.origin}/test/browser/pages/blank.html`)
  await page.addScriptTag({ url: '/test/browser/pages/presets.mjs', type: 'module' })
  await page.waitForFunction(() => 'presets' in window)
  await page.evaluate(
    async ({ url, options, preset, remember }) => {
      const w = window as unknown as { got: Got; Subwire: typeof import('../../src/index'); presets: typeof import('../../src/presets') }
      const { nchan } = w.presets
      if (remember) {
        const first = new URL(Array.isArray(url) ? url[0]! : url)
        localStorage.setItem(`subwire:${first.origin}${first.pathname}`, `${remember} ${Date.now() + 3_600_000}`)
      }
      const got: Got = (w.got = { events: [], errors: [], states: [] })
      const sub = w.Subwire.subscribe(url, preset ? nchan({ share: false, ...options }) : { share: false, ...options })
      sub.on('message', (e) => got.events.push({ data: e.data as string, id: e.id, transport: e.transport }))
      sub.on('error', (e) => got.errors.push(e.message))
      sub.on('state', (s) => got.states.push(`${s.state}:${s.transport}`))
    },
    { url, options, preset, remember },
  )
  return { page, got: async () => (expect(errors).toEqual([]), page.evaluate(() => (window as unknown as { got: Got }).got)) }
}

async function waitFor(page: Page, count: number, ms = 60_000) {
  await page.waitForFunction((n) => (window as unknown as { got: Got }).got.events.length >= n, count, { timeout: ms, polling: 100 })
}

/** nchan ids are `<seconds>:<index>`: compare them as such. */
const order = (id: string) => id.split(':').map(Number) as [number, number]
const ascending = (ids: string[]) => ids.every((id, i) => i === 0 || order(ids[i - 1]!)[0] < order(id)[0] || (order(ids[i - 1]!)[0] === order(id)[0] && order(ids[i - 1]!)[1] < order(id)[1]))

function expectExactlyOnce(got: Got, count: number, prefix = 'm') {
  expect(got.events.map((e) => e.data)).toEqual(Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`))
  expect(ascending(got.events.map((e) => e.id!))).toBe(true)
}

describe('nchan with Redis, in Chromium', () => {
  it.each(['websocket', 'eventsource', 'longpoll', 'poll', 'default negotiation'])('%s: 1000 messages published over HTTP, the connection cut 3 times: every message once, in order', async (transport) => {
    const channel = `t${transport.replace(/\W/g, '')}`
    const [a] = nchan.nodes
    const first = await nchan.publish(0, channel, 'm0')
    const url = transport === 'poll' ? a!.poll(channel) : a!.sub(channel)
    const options: Record<string, unknown> = { lastEventId: first, pollInterval: 0, rememberFor: 0 }
    if (transport === 'default negotiation') options.urls = { poll: a!.poll(channel) }
    else options.transports = [transport]
    const { page, got } = await subscriber(url, options)
    const started = Date.now()
    for (let i = 1; i <= 1000; i++) {
      await nchan.publish(0, channel, `m${i}`)
      if (i % 250 === 0 && i < 1000) {
        await waitFor(page, i - 50)
        a!.cut()
      }
    }
    await waitFor(page, 1000)
    const seen = await got()
    console.log(`[nchan] ${transport}: 1000 messages, 3 cuts, ${Date.now() - started} ms; transports ${[...new Set(seen.events.map((e) => e.transport))]}; errors ${seen.errors.length}`)
    expectExactlyOnce(seen, 1000)
    if (transport !== 'default negotiation') expect(seen.events.every((e) => e.transport === transport)).toBe(true)
    else expect(seen.events.at(-1)!.transport).toBe('websocket')
    await page.context().close()
  })

  it('three minutes of default negotiation with probes on: moves up where ids allow it, never where they do not; nothing lost', async () => {
    const minutes = Number(process.env.NCHAN_MINUTES ?? 3)
    const [a] = nchan.nodes
    const first = {
      meta: await nchan.publish(0, 'probemeta', 'm0'),
      raw: await nchan.publish(0, 'proberaw', 'm0'),
    }
    // With the preset: starts on long polling (remembered), probes a WebSocket whose frames carry ids.
    const meta = await subscriber(a!.sub('probemeta'), { lastEventId: first.meta, upgradeAfter: 3000, urls: { poll: a!.poll('probemeta') } }, { remember: 'longpoll' })
    // Without it: nchan's WebSocket frames are the raw messages, no ids; the probe must never switch.
    const raw = await subscriber(a!.sub('proberaw'), { lastEventId: first.raw, upgradeAfter: 3000, lastEventIdParam: 'last_event_id' }, { preset: false, remember: 'eventsource' })
    const total = minutes * 60 * 10
    const started = Date.now()
    for (let i = 1; i <= total; i++) {
      await Promise.all([nchan.publish(0, 'probemeta', `m${i}`), nchan.publish(0, 'proberaw', `m${i}`)])
      const due = started + i * 100
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()))
      if (i % 300 === 0) a!.cut()
    }
    await waitFor(meta.page, total)
    await waitFor(raw.page, total)
    const withIds = await meta.got()
    const withoutIds = await raw.got()
    const moved = (got: Got) => [...new Set(got.events.map((e) => e.transport))].join(' → ')
    console.log(`[nchan] ${minutes} min with probes: preset ${moved(withIds)}; raw frames ${moved(withoutIds)}`)
    expectExactlyOnce(withIds, total)
    expect(withIds.events.at(-1)!.transport).toBe('websocket')
    expect(withoutIds.events.map((e) => e.data)).toEqual(Array.from({ length: total }, (_, i) => `m${i + 1}`))
    expect(withoutIds.events.every((e) => e.transport === 'eventsource')).toBe(true)
    await meta.page.context().close()
    await raw.page.context().close()
  }, 300_000)

  // Last: it stops node A.
  it('scale-out: subscribed through node A, published through node B; node A stops mid-stream and the client carries on through node B', async () => {
    const channel = 'scaleout'
    const [a, b] = nchan.nodes
    const first = await nchan.publish(1, channel, 'm0')
    const { page, got } = await subscriber([a!.sub(channel), b!.sub(channel)], { lastEventId: first, rememberFor: 0, transports: ['websocket', 'eventsource', 'longpoll'] })
    for (let i = 1; i <= 1000; i++) {
      await nchan.publish(1, channel, `m${i}`)
      if (i === 300) {
        await waitFor(page, 250)
        await a!.stop()
      }
    }
    await waitFor(page, 1000)
    const seen = await got()
    console.log(`[nchan] scale-out: ${seen.events.length} messages, states ${seen.states.join(' ')}`)
    expectExactlyOnce(seen, 1000)
    await page.context().close()
  })
})
