import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser, openPage, startServer, type TestServer } from './harness'

let browser: Browser
let server: TestServer

beforeAll(async () => {
  server = await startServer()
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe('bundles in Chromium', () => {
  it('loads the UMD build as a <script> global and the ESM builds as modules, under a strict CSP; subwire/core subscribes with one transport, and with the native EventSource alone', async () => {
    const { page, errors } = await openPage(browser, `${server.origin}/test/browser/pages/bundles.html`)
    await expect.poll(() => server.connections.filter((c) => c.transport === 'eventsource').length, { timeout: 5000 }).toBe(2)
    server.publish({ data: 'through core' })
    await page.waitForFunction(() => (window as unknown as { __bundles?: unknown }).__bundles)
    const result = await page.evaluate(() => (window as unknown as { __bundles: Record<string, any> }).__bundles)
    expect(result.umdKeys).toContain('createParser')
    expect(result.umdKeys).toEqual(result.esmKeys)
    expect(result.parserKeys).toEqual(['ParseError', 'createParser'])
    expect(result.coreKeys).toEqual(expect.arrayContaining(['createSubscribe', 'websocket', 'eventsource', 'nativeEventSource', 'longpoll', 'poll']))
    expect(result.coreEvent).toEqual({ transport: 'eventsource', data: 'through core' })
    expect(result.nativeEvent).toEqual({ transport: 'eventsource', data: 'through core' })
    expect(result.nativeMade).toBe(1)
    expect(errors).toEqual([])
    await page.close()
  })

  it('the UMD files begin with V8\'s compile hint (their functions compiled as the file loads, not at the first subscribe())', () => {
    for (const file of ['subwire.umd.min.js', 'subwire.umd.js', 'subwire.development.umd.js', 'subwire-tabs.umd.min.js']) {
      expect(readFileSync(`dist/${file}`, 'utf8').split('\n')[0], file).toBe('//# allFunctionsCalledOnLoad')
    }
  })
})
