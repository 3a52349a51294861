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
  it('loads the UMD build as a <script> global and the ESM builds as modules, under a strict CSP', async () => {
    const { page, errors } = await openPage(browser, `${server.origin}/test/browser/pages/bundles.html`)
    await page.waitForFunction(() => (window as unknown as { __bundles?: unknown }).__bundles)
    const result = await page.evaluate(() => (window as unknown as { __bundles: Record<string, string[] | null> }).__bundles)
    expect(result.umdKeys).toContain('createParser')
    expect(result.umdKeys).toEqual(result.esmKeys)
    expect(result.parserKeys).toEqual(['ParseError', 'createParser'])
    expect(errors).toEqual([])
    await page.close()
  })
})
