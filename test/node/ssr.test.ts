// subwire/react, subwire/vue and subwire/svelte are SSR-safe: the recipes that use them, rendered on
// the server, open nothing, so no request reaches the events server and the process exits by itself.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { compile } from 'svelte/compiler'
import { expect, it } from 'vitest'

const root = resolve(__dirname, '../..')
const recipes = join(root, 'docs/recipes')

/** Compile the recipes to plain ESM inside the package (so `subwire` resolves to its own dist/). */
function compileRecipes(): string {
  const out = join(root, '.cache/ssr')
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  for (const file of ['react.tsx', 'vue.ts']) {
    const { outputText } = ts.transpileModule(readFileSync(join(recipes, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, jsx: ts.JsxEmit.ReactJSX, verbatimModuleSyntax: false },
    })
    writeFileSync(join(out, file.replace(/\.tsx?$/, '.mjs')), outputText)
  }
  const svelte = compile(readFileSync(join(recipes, 'LatestNotice.svelte'), 'utf8'), { generate: 'server', filename: 'LatestNotice.svelte' })
  writeFileSync(join(out, 'LatestNotice.mjs'), svelte.js.code)
  return out
}

it('renders each framework binding\'s recipe on the server: no subscription opens, the process exits', async () => {
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': hi\n\n')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`
  try {
    const dir = compileRecipes()
    const child = spawn(process.execPath, [join(__dirname, 'render.mjs'), dir, url], { cwd: root })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    // Exiting by itself within 10 s: a subscription left open would keep it alive (and is killed).
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => (child.kill(), resolve('still running after 10 s')), 10_000)
      child.on('exit', (code) => (clearTimeout(timer), resolve(code ?? 'killed')))
    })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const { rendered, calls } = JSON.parse(stdout) as { rendered: Record<string, string>; calls: number }
    expect(rendered.react).toContain('no notice yet')
    expect(rendered.react).toContain('connecting')
    expect(rendered.vue).toContain('no notice yet (connecting)')
    expect(rendered.svelte).toContain('no notice yet (connecting)')
    expect(calls).toBe(0)
    expect(requests).toBe(0)
  } finally {
    server.close()
  }
}, 30_000)

it.each([
  ['development', 'dist/subwire.development.mjs'],
  ['production', 'dist/subwire.mjs'],
])('subscribe() with a relative URL where there is no page: a config error, at once (%s build: naming the fix, or its code)', async (build, file) => {
  // The built entry, as Node loads it (typed from src/: dist/ may not exist when types are checked).
  const { subscribe, SubwireError } = (await import(join(root, file))) as typeof import('../../src/index')
  let thrown: unknown
  try {
    subscribe('/events')
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(SubwireError)
  expect(thrown).toMatchObject({ kind: 'config', code: 'bad-url' })
  expect((thrown as Error).message).toBe(
    build === 'development'
      ? 'subscribe(): url "/events" is relative and there is no page to resolve it against (server-side rendering?): subscribe in the browser only (e.g. in useEffect or onMounted), or pass an absolute URL'
      : 'bad-url (docs/errors.md#bad-url)',
  )
})
