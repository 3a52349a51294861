// "Follow getting-started.md word for word against `npm run demo` and see events": every sample
// of README.md and docs/getting-started.md that subscribes to the demo's '/events' runs here as
// written (TypeScript compiled, `subwire` resolved by an import map to the ESM build) in Chromium,
// against the reference server with the demo's own options and data, and must log events.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser, startServer, type TestServer } from './harness'
// @ts-expect-error -- plain ESM module without declarations
import { DEMO } from '../../demo/server.mjs'

const root = resolve(__dirname, '../..')
let browser: Browser
let server: TestServer & { generate(o: unknown): void }

beforeAll(async () => {
  server = (await startServer(DEMO.server)) as typeof server
  server.generate(DEMO.generate)
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** The TypeScript samples of a file, numbered as they appear. */
function samples(file: string): Array<{ name: string; code: string }> {
  return [...readFileSync(resolve(root, file), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map(([, code], i) => ({ name: `${file} sample ${i + 1}`, code: code! }))
}

// A sample that subscribes to the demo: it names '/events' and no other host.
const runnable = [...samples('README.md'), ...samples('docs/getting-started.md')].filter((s) => s.code.includes("'/events'") && !/https?:\/\//.test(s.code))

describe('the documentation samples against the demo, in Chromium', () => {
  it('finds the samples to run', () => {
    expect(runnable.map((s) => s.name)).toEqual([
      'README.md sample 1',
      'docs/getting-started.md sample 1',
      'docs/getting-started.md sample 2',
      'docs/getting-started.md sample 4',
    ])
  })

  for (const sample of runnable) {
    it(`${sample.name} logs events as written`, async () => {
      const js = ts.transpileModule(sample.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
      const page = await (await browser.newContext()).newPage()
      const logged: string[] = []
      const problems: string[] = []
      page.on('console', (m) => (m.type() === 'log' ? logged.push(m.text()) : problems.push(`${m.type()}: ${m.text()}`)))
      page.on('pageerror', (e) => problems.push(String(e)))
      await page.goto(`${server.origin}/test/browser/pages/samples.html`)
      await page.addScriptTag({ type: 'module', content: js })
      const start = Date.now()
      while (logged.filter((l) => /\d/.test(l)).length < 3 && Date.now() - start < 15_000) await new Promise((r) => setTimeout(r, 100))
      console.log(`[samples] ${sample.name}: ${logged.slice(0, 4).join(' | ')}`)
      expect(problems).toEqual([])
      expect(logged.filter((l) => /\d/.test(l)).length).toBeGreaterThanOrEqual(3)
      await page.context().close()
    }, 30_000)
  }
})
