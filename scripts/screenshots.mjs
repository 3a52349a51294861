// `npm run screenshots`: the demo in Chromium, captured for the docs (docs/demo.png and
// docs/demo-fallback.png). Needs a build (npm run build) and Chromium (CHROME_PATH to override).
import { launchChromium } from './chromium.mjs'
import { startServer } from '../demo/server.mjs'

const server = await startServer({ heartbeatMs: 1000, holdMs: 5000 })
server.generate({ intervalMs: 150, kinds: ['price', 'notice', 'token'] })
const browser = await launchChromium()
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 } })
  await page.goto(`${server.origin}/demo/index.html`)
  await page.waitForTimeout(4000)
  await page.screenshot({ path: 'docs/demo.png' })
  // The WebSocket blocked and the connections cut: the page moves on, nothing missing.
  await page.click('button[data-action="block-websocket"]')
  await page.waitForTimeout(4000)
  await page.screenshot({ path: 'docs/demo-fallback.png' })
  console.log('wrote docs/demo.png and docs/demo-fallback.png')
} finally {
  await browser.close()
  await server.close()
}
