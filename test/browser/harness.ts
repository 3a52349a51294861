// The real-browser harness: Debian's Chromium driven by playwright-core, against the reference
// server started in-process on a free port. A missing browser fails loudly; it never skips.
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../../scripts/chromium.mjs'
// @ts-expect-error -- plain ESM module without declarations
import { startServer as start } from '../../demo/server.mjs'

export function launchBrowser(): Promise<Browser> {
  return launchChromium()
}

export interface TestServer {
  origin: string
  port: number
  eventsUrl: string
  publish(event: { event?: string | undefined; data: string }): number
  dropAll(): void
  endAll(): void
  inject(text: string): void
  restart(downMs: number): Promise<void>
  faults: {
    refuse: Set<string>
    unavailable: number
    retryAfter: string
    delayMs: number
    starveWebSocket: boolean
    killWebSocket: boolean
    bufferSse: number
    gone: number
  }
  connections: Array<{ transport: string; lastEventId: string | null; at: number; url: string }>
  /** The last 50 streams and held polls: url, resume point, open since, closed at. */
  history: Array<{ url: string; from: string | null; since: number; until?: number }>
  live(): number
  /** The most streams and held polls open at once since the last call. */
  peak(): number
  log: Array<{ id: number; event?: string; data: string }>
  raw: Map<string, Uint8Array | string>
  close(): Promise<void>
}

export function startServer(options: Record<string, unknown> = {}): Promise<TestServer> {
  return start(options) as Promise<TestServer>
}

/** Open a page and fail the test on any uncaught page error. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(String(err)))
  await page.goto(url)
  return { page, errors }
}
