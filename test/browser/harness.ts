// The real-browser harness: Debian's Chromium driven by playwright-core, against the reference
// server started in-process on a free port. A missing browser fails loudly; it never skips.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
// @ts-expect-error -- plain ESM module without declarations
import { startServer as start } from '../../demo/server.mjs'

export const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium'

export const CHROME_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROME_PATH)) {
    throw new Error(
      `no Chromium at ${CHROME_PATH}: install it (apt-get install -y chromium) or set CHROME_PATH to a Chrome/Chromium binary`,
    )
  }
  return chromium.launch({ executablePath: CHROME_PATH, args: CHROME_ARGS })
}

export interface TestServer {
  origin: string
  port: number
  eventsUrl: string
  publish(event: { event?: string | undefined; data: string }): number
  dropAll(): void
  restart(downMs: number): Promise<void>
  faults: {
    refuse: Set<string>
    unavailable: number
    retryAfter: string
    delayMs: number
    starveWebSocket: boolean
    killWebSocket: boolean
    bufferSse: number
  }
  connections: Array<{ transport: string; lastEventId: string | null; at: number; url: string }>
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
