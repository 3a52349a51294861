// The demo page in Chromium: live data arrives over the automatic transport choice, the page
// survives a cut and a blocked WebSocket, and no sequence number goes missing or doubles.
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser, openPage, startServer, type TestServer } from './harness'
// @ts-expect-error -- plain ESM module without declarations
import { DEMO } from '../../demo/server.mjs'

let browser: Browser
let server: TestServer & { generate(o: { intervalMs: number; kinds: string[] }): void }

beforeAll(async () => {
  server = (await startServer({ heartbeatMs: 1000, holdMs: 2000 })) as typeof server
  server.generate({ intervalMs: 50, kinds: ['price', 'notice'] })
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

it('shows live prices and notifications, and keeps missing/duplicated at 0 through a cut and a blocked WebSocket', async () => {
  const { page, errors } = await openPage(browser, `${server.origin}/demo/index.html`)
  await page.waitForFunction(() => document.getElementById('price')!.textContent!.startsWith('SWR'))
  expect(await page.textContent('#transport')).toBe('websocket')
  await page.click('button[data-action="drop"]')
  await page.click('button[data-action="block-websocket"]')
  const before = Number(await page.textContent('#last-id'))
  await page.waitForFunction((n) => Number(document.getElementById('last-id')!.textContent) > n + 20, before, { timeout: 30_000 })
  expect(await page.textContent('#gaps')).toBe('0 / 0')
  expect(await page.textContent('#transport')).toBe('eventsource')
  expect(await page.locator('#notices li').count()).toBeGreaterThan(0)
  await page.screenshot({ path: 'test-results/demo.png' })
  expect(errors).toEqual([])
})

it('streams the assistant answer token by token, and waits while offline without losing a token', async () => {
  server.generate({ intervalMs: 50, kinds: ['price', 'notice', 'token'] })
  const { page, errors } = await openPage(browser, `${server.origin}/demo/index.html`)
  await page.waitForFunction(() => (document.querySelector('#answers p')?.textContent ?? '').split(' ').length > 5)
  await page.click('button[data-action="offline"]')
  await page.waitForFunction(() => document.getElementById('next')!.textContent === 'when online')
  const paused = Number(await page.textContent('#last-id'))
  await new Promise((r) => setTimeout(r, 500))
  expect(Number(await page.textContent('#last-id'))).toBe(paused)
  await page.click('button[data-action="offline"]')
  await page.waitForFunction((n) => Number(document.getElementById('last-id')!.textContent) > n + 20, paused, { timeout: 30_000 })
  expect(await page.textContent('#gaps')).toBe('0 / 0')
  // Server text is rendered as text, never as markup.
  expect(await page.locator('#answers script, #notices script').count()).toBe(0)
  expect(errors).toEqual([])
})

for (const transport of ['longpoll', 'poll']) {
  it(`"go offline" pauses ${transport} too, and "go online" resumes it with nothing missing or doubled`, async () => {
    server.generate({ intervalMs: 50, kinds: ['price', 'notice'] })
    const { page, errors } = await openPage(browser, `${server.origin}/demo/index.html`)
    await page.selectOption('#transports', transport)
    await page.waitForFunction((t) => document.getElementById('transport')!.textContent === t, transport)
    const first = Number(await page.textContent('#last-id'))
    await page.waitForFunction((n) => Number(document.getElementById('last-id')!.textContent) > n + 5, first)
    await page.click('button[data-action="offline"]')
    await page.waitForFunction(() => document.getElementById('next')!.textContent === 'when online')
    const paused = Number(await page.textContent('#last-id'))
    await new Promise((r) => setTimeout(r, 1500))
    expect(Number(await page.textContent('#last-id'))).toBe(paused)
    await page.click('button[data-action="offline"]')
    await page.waitForFunction((n) => Number(document.getElementById('last-id')!.textContent) > n + 20, paused, { timeout: 30_000 })
    expect(await page.textContent('#gaps')).toBe('0 / 0')
    expect(errors).toEqual([])
    await page.close()
  })
}

it("what `npm run demo` shows (its own server settings and stream, plain `message` ticks included): missing / duplicated 0 / 0 after 15 s", async () => {
  const demo = (await startServer(DEMO.server)) as typeof server
  demo.generate(DEMO.generate)
  try {
    const { page, errors } = await openPage(browser, `${demo.origin}/demo/index.html`)
    await new Promise((r) => setTimeout(r, 15_000))
    const seen = Number(await page.textContent('#last-id'))
    console.log(`[demo] defaults: last id ${seen} after 15 s, missing / duplicated ${await page.textContent('#gaps')}`)
    expect(seen).toBeGreaterThan(50)
    expect(await page.textContent('#gaps')).toBe('0 / 0')
    expect(errors).toEqual([])
    await page.close()
  } finally {
    await demo.close()
  }
}, 40_000)
