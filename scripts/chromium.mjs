// The one place that knows how to start Chromium: the browser tests, the screenshots and the
// end-to-end benchmarks all launch it from here. CHROME_PATH overrides the Debian path. A missing
// browser is an error, never a skip.
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'

export const CHROME_PATH = process.env.CHROME_PATH ?? '/usr/bin/chromium'

// Without the background-networking flags Chromium floods a closed network with requests.
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

export async function launchChromium(extraArgs = []) {
  if (!existsSync(CHROME_PATH)) {
    throw new Error(
      `no Chromium at ${CHROME_PATH}: install it (apt-get install -y chromium) or set CHROME_PATH to a Chrome/Chromium binary`,
    )
  }
  return chromium.launch({ executablePath: CHROME_PATH, args: [...CHROME_ARGS, ...extraArgs] })
}
