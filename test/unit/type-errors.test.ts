// What TypeScript says to a user who types events as objects and forgets `decode`: the error
// itself names the fix (checked on the message, not only that there is an error).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { expect, it } from 'vitest'

const root = resolve(__dirname, '../..')

function errors(code: string): string[] {
  const dir = join(root, '.cache/type-errors')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'sample.ts')
  writeFileSync(file, `import { subscribe } from '../../src/index'\ninterface Tick { price: number }\n${code}\nexport {}\n`)
  const program = ts.createProgram([file, join(root, 'src/dev.d.ts')], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: [],
    noEmit: true,
    skipLibCheck: true,
  })
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
}

it.each([
  ['no options', `subscribe<{ price: Tick }>('/events')`, /decode: 'json'/],
  ['options without decode', `subscribe<{ price: Tick }>('/events', { transports: ['websocket'] })`, /Property 'decode' is missing/],
  ["decode: 'text'", `subscribe<{ price: Tick }>('/events', { decode: 'text' })`, /"json"/],
])('typed events with %s: one error, and it names the fix', (_case, code, fix) => {
  const found = errors(code)
  expect(found).toHaveLength(1)
  expect(found[0]).toMatch(fix)
})

it('text events, decoded events and no type at all compile', () => {
  expect(errors(`subscribe('/events'); subscribe<{ note: string }>('/events'); subscribe<{ price: Tick }>('/events', { decode: 'json' })`)).toEqual([])
})
