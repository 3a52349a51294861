// subwire/react, subwire/vue and subwire/svelte as users run them: an app for each (test/bindings/)
// built by Vite from the built package, served beside the reference server, run in Chromium.
// Each mounts a feed (React under StrictMode), keeps one connection when its options are replaced
// by equal ones, reconnects once when they change, reads a POST answer to its end, and leaves no
// connection open once unmounted.
import { readFileSync, rmSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { build, type Plugin } from 'vite'
import { compile } from 'svelte/compiler'
import { launchBrowser, startServer, type TestServer } from './harness'

const root = resolve(__dirname, '../..')
const out = join(root, '.cache/bindings')
const MODES = ['development', 'production'] as const

/** Svelte components compiled as @sveltejs/vite-plugin-svelte would, in five lines. */
const svelte: Plugin = {
  name: 'svelte',
  transform(code, id) {
    if (!id.endsWith('.svelte')) return
    const { js } = compile(code, { filename: id, generate: 'client' })
    return { code: js.code, map: js.map }
  },
}

let browser: Browser
let server: TestServer
let answers = 0

beforeAll(async () => {
  rmSync(out, { recursive: true, force: true })
  // Built as `vite build` (production: React's and Vue's production builds, subwire's) and as in
  // development (`--mode development`: React runs StrictMode's double effects, subwire's
  // development build with its checks).
  for (const mode of MODES)
    await build({
      root: join(root, 'test/bindings'),
      base: `/${mode}/`,
      mode,
      configFile: false,
      logLevel: 'warn',
      plugins: [svelte],
      define: { 'process.env.NODE_ENV': JSON.stringify(mode) },
      // The built package, as an app's bundler resolves it from node_modules.
      resolve: {
        alias: [
          { find: /^subwire$/, replacement: join(root, `dist/subwire${mode === 'development' ? '.development' : ''}.mjs`) },
          { find: /^subwire\/(react|vue|svelte)$/, replacement: join(root, 'dist/$1.mjs') },
        ],
      },
      build: {
        outDir: join(out, mode),
        emptyOutDir: true,
        minify: mode === 'production',
        rollupOptions: { input: { react: 'react.html', vue: 'vue.html', svelte: 'svelte.html' } },
      },
    })
  // POST /answer: an LLM-style answer, three tokens with ids, then the end.
  const http = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (url.pathname === '/answer') {
      for await (const chunk of req) void chunk
      if (req.method !== 'POST') return void res.writeHead(405).end(), true
      answers++
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const [i, token] of ['The', ' answer', ' is', ' 42.'].entries()) res.write(`id: ${i + 1}\ndata: ${token}\n\n`)
      res.end()
      return true
    }
    const file = url.pathname.match(/^\/(development|production)\/((react|vue|svelte)\.html|assets\/[\w.-]+\.js)$/)
    if (!file) return false
    res.writeHead(200, { 'content-type': extname(url.pathname) === '.html' ? 'text/html' : 'text/javascript' })
    res.end(readFileSync(join(out, url.pathname)))
    return true
  }
  server = await startServer({ handlers: { http } })
  browser = await launchBrowser()
}, 120_000)
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

const text = (page: Page, id: string) => page.locator(`#${id}`).textContent()
const until = async (what: () => boolean | Promise<boolean>, ms = 10_000) => {
  for (const start = Date.now(); !(await what()); await new Promise((r) => setTimeout(r, 25)))
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`)
}
/** Streams to /events opened since `from` (the feed's connections; the answer is /answer). */
const feeds = (from: number) => server.connections.slice(from).filter((c) => c.url.startsWith('/events'))

describe.each(MODES.flatMap((mode) => ['react', 'vue', 'svelte'].map((framework) => [framework, mode])))('subwire/%s, built by Vite (%s), in Chromium', (framework, mode) => {
  it('mount: one connection (StrictMode too); equal options: none new; changed: one reconnect; a POST answer read to its end; unmount: no connection left', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    const from = server.connections.length
    const live = server.live()
    await page.goto(`${server.origin}/${mode}/${framework}.html`)
    await until(async () => (await text(page, 'feed'))?.startsWith('open:') ?? false)
    server.publish({ data: 'first' })
    await until(async () => (await text(page, 'feed')) === 'open:first')
    await new Promise((r) => setTimeout(r, 300))
    expect(feeds(from).map((c) => c.url)).toEqual([expect.stringContaining('room=a')])
    expect(server.live() - live).toBe(1)

    // The same options, a new object: nothing reconnects.
    await page.evaluate(() => (window as unknown as { app: { setOptions(o: unknown): void } }).app.setOptions({ query: { room: 'a' } }))
    await new Promise((r) => setTimeout(r, 500))
    expect(feeds(from)).toHaveLength(1)

    // Changed: one new connection, the old one closed.
    await page.evaluate(() => (window as unknown as { app: { setOptions(o: unknown): void } }).app.setOptions({ query: { room: 'b' } }))
    await until(() => feeds(from).length === 2)
    await new Promise((r) => setTimeout(r, 500))
    expect(feeds(from).map((c) => c.url)).toEqual([expect.stringContaining('room=a'), expect.stringContaining('room=b')])
    await until(() => server.live() - live === 1)
    server.publish({ data: 'second' })
    await until(async () => (await text(page, 'feed')) === 'open:second')

    // A streamed answer: one POST, read to its end, closed with reason end.
    const asked = answers
    await page.evaluate(() => (window as unknown as { app: { answer(): void } }).app.answer())
    await until(async () => (await text(page, 'answer')) === 'closed:end:The answer is 42.')
    await new Promise((r) => setTimeout(r, 300))
    expect(answers - asked).toBe(1)

    // Unmounted: every connection closed.
    await page.evaluate(() => (window as unknown as { app: { unmount(): void } }).app.unmount())
    await until(() => server.live() === live, 5000)
    expect(feeds(from)).toHaveLength(2)
    expect(errors).toEqual([])
    await page.close()
  }, 60_000)
})
