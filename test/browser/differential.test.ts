// The same bytes served to Chromium's native EventSource and to subwire's parser give the same
// events. Where Chromium departs from the specification, the expected result is the spec's and
// the departure is listed in docs/parser.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { fixtures } from '../fixtures/sse'
import { launchBrowser, openPage, startServer, type TestServer } from './harness'

let browser: Browser
let server: TestServer
let page: Page

const encoder = new TextEncoder()
const streams = new Map<string, Uint8Array>()
for (const fixture of fixtures) {
  for (const [label, eol] of [['LF', '\n'], ['CR', '\r'], ['CRLF', '\r\n']] as const) {
    if (fixture.exactLineEnds && label !== 'LF') continue
    const text = fixture.exactLineEnds ? fixture.input : fixture.input.replace(/\n/g, eol)
    streams.set(`${fixture.name} (${label})`, encoder.encode(text))
  }
}
streams.set('invalid UTF-8', Uint8Array.of(...encoder.encode('data: a'), 0xff, 0xc3, ...encoder.encode('b\n\n')))
streams.set('BOM as bytes', Uint8Array.of(0xef, 0xbb, 0xbf, ...encoder.encode('data: x\n\n')))
streams.set('two BOMs as bytes', Uint8Array.of(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, ...encoder.encode('data: x\n\ndata: y\n\n')))
streams.set('many events', encoder.encode(Array.from({ length: 500 }, (_, i) => `id: ${i}\nevent: e${i % 3}\ndata: ${i}\ndata: ${'é'.repeat(i % 7)}\n\n`).join('')))

beforeAll(async () => {
  server = await startServer({ raw: streams })
  browser = await launchBrowser()
  ;({ page } = await openPage(browser, `${server.origin}/test/browser/pages/differential.html`))
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready)
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe('parser against native EventSource in Chromium', () => {
  it.each([...streams.keys()])('%s', async (name) => {
    const types = ['price', 'x', 'only-type', 'a:b', 'e0', 'e1', 'e2']
    const { native, parser } = await page.evaluate(
      ([n, t]) => (window as unknown as { compare(n: string, t: string[]): Promise<{ native: unknown[]; parser: unknown[] }> }).compare(n, t),
      [name, types] as const,
    )
    expect(parser).toEqual(native)
  })
})
