// Part of `npm test`: checks the tarball users get. `npm pack`, then publint (strict) and
// arethetypeswrong on it, then a consumer project per TypeScript module resolution (bundler,
// node16 from ESM, node16 from CommonJS, node10) that installs the tarball (and links the bindings'
// peers, react and vue), type-checks an import of every entry and loads every entry in Node (importing never throws; subscribe() with no page
// throws a clear error). Uses only the repository's own tools; no network.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(new URL('..', import.meta.url).pathname)
const bin = (name) => join(root, 'node_modules/.bin', name)
const run = (command, args, cwd = root) => execFileSync(command, args, { cwd, stdio: 'pipe', encoding: 'utf8' })
const work = mkdtempSync(join(tmpdir(), 'subwire-package-'))
let failed = false
const step = (name, fn) => {
  try {
    const out = fn()
    console.log(`ok   ${name}${out ? `: ${out}` : ''}`)
  } catch (error) {
    failed = true
    console.error(`FAIL ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}${error.stdout || error.stderr ? '' : error.message}`)
  }
}

try {
  run('npm', ['pack', '--silent', '--pack-destination', work])
  const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')))
  step('publint --strict (the packed tarball)', () => {
    const out = run(bin('publint'), ['run', tarball, '--strict'])
    if (!out.includes('All good')) throw new Error(out)
    return 'all good'
  })
  step('arethetypeswrong (the packed tarball)', () => {
    const out = run(bin('attw'), [tarball, '--format', 'ascii'])
    if (!/No problems found/.test(out)) throw new Error(out)
    return 'no problems'
  })

  const imports = `import { subscribe, SubwireError, type SubwireEvent } from 'subwire'
import { createSubscribe, eventsource, type Transport } from 'subwire/core'
import { createParser, type EventSourceMessage } from 'subwire/parser'
import { nchan } from 'subwire/presets'
import { tabs } from 'subwire/tabs'
import { useSubscription } from 'subwire/react'
import { useSubscription as useVueSubscription } from 'subwire/vue'
import { subscription } from 'subwire/svelte'
const s: typeof subscribe = createSubscribe({ eventsource })
const t: Transport = eventsource
const p = createParser({ onEvent: (e: EventSourceMessage) => void e })
const o = nchan({ decode: 'json' })
let e: SubwireEvent | undefined
function Feed(): string | undefined {
  const { value, state } = useSubscription('/events')
  return state === 'open' ? value : undefined
}
void [s, t, p, o, e, SubwireError, tabs, Feed, useVueSubscription, subscription]
`
  const consumers = [
    { name: 'bundler', type: 'module', options: { module: 'esnext', moduleResolution: 'bundler' } },
    { name: 'node16 (ESM)', type: 'module', options: { module: 'node16', moduleResolution: 'node16' } },
    { name: 'node16 (CommonJS)', type: 'commonjs', options: { module: 'node16', moduleResolution: 'node16' } },
    { name: 'node10', type: 'commonjs', options: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' } },
  ]
  for (const [i, consumer] of consumers.entries()) {
    const dir = join(work, `consumer${i}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer${i}`, private: true, type: consumer.type }))
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'es2022', lib: ['es2022', 'dom'], types: [], skipLibCheck: false, ...consumer.options }, files: ['index.ts'] }))
    writeFileSync(join(dir, 'index.ts'), imports)
    run('npm', ['install', '--silent', '--no-audit', '--no-fund', '--offline', tarball], dir)
    // The bindings' optional peers, as an app that uses them has them: linked from this repository.
    mkdirSync(join(dir, 'node_modules/@types'), { recursive: true })
    for (const peer of ['react', '@types/react', 'vue']) symlinkSync(join(root, 'node_modules', peer), join(dir, 'node_modules', peer))
    step(`types under ${consumer.name}`, () => run(bin('tsc'), ['-p', dir]))
  }

  // Node: every entry loads both ways, and subscribe() where there is no page says what to do.
  const dir = join(work, 'consumer0')
  const entries = ['subwire', 'subwire/core', 'subwire/parser', 'subwire/presets', 'subwire/tabs', 'subwire/react', 'subwire/vue', 'subwire/svelte']
  step('every entry loads with import() in Node', () => run('node', ['--input-type=module', '-e', `for (const e of ${JSON.stringify(entries)}) await import(e)`], dir))
  step('every entry loads with require() in Node', () => run('node', ['-e', `for (const e of ${JSON.stringify(entries)}) require(e)`], dir))
  step('subscribe() with a relative URL and no page throws a SubwireError: its code (production), what to do (development condition)', () => {
    const code = `const { subscribe, SubwireError } = require('subwire'); try { subscribe('/events') } catch (e) { console.log(e instanceof SubwireError, e.kind, e.code, e.message) }`
    const production = run('node', ['-e', code], dir)
    if (!/^true config bad-url bad-url \(docs\/errors\.md#bad-url\)/.test(production)) throw new Error(production)
    const development = run('node', ['--conditions=development', '-e', code], dir)
    if (!/^true config bad-url subscribe\(\): url "\/events" is relative and there is no page/.test(development)) throw new Error(development)
    return 'config error, both builds'
  })
} finally {
  rmSync(work, { recursive: true, force: true })
}
if (failed) process.exit(1)
