// @vitest-environment node
// The docs cannot drift: api.md names every export and documents every option with the default
// the source declares, and every TypeScript sample in README.md and docs/ type-checks against src/.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../..')
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const api = read('docs/api.md')

/** Every name the entries `subwire` and `subwire/core` export (`export *` of src/shared.ts included). */
function exportedNames(): string[] {
  const names = new Set<string>()
  for (const file of ['src/index.ts', 'src/shared.ts', 'src/core.ts', 'src/presets.ts', 'src/tabs.ts']) {
    const source = read(file)
    for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
      for (const part of list!.split(',')) if (part.trim()) names.add(part.trim())
    }
    for (const [, name] of source.matchAll(/export (?:const|function) (\w+)/g)) names.add(name!)
  }
  return [...names]
}

/** Members of an exported interface with their `@default` tag, read by the TypeScript compiler. */
function membersOf(file: string, name: string): Array<{ name: string; default: string | undefined }> {
  const sourceFile = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true)
  const found: Array<{ name: string; default: string | undefined }> = []
  sourceFile.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== name) return
    for (const member of node.members) {
      const tag = ts.getJSDocTags(member).find((t) => t.tagName.text === 'default')
      const text = typeof tag?.comment === 'string' ? tag.comment : undefined
      found.push({ name: (member.name as ts.Identifier).text, default: text?.split(' (')[0]!.trim() })
    }
  })
  return found
}

describe('docs/api.md', () => {
  it.each(exportedNames())('documents the export %s', (name) => {
    expect(api).toContain(`\`${name}`)
  })

  it.each([
    ['src/options.ts', 'SubscribeOptions'],
    ['src/types.ts', 'RetryOptions'],
  ])('documents every member of %s %s with its default', (file, name) => {
    const members = membersOf(file, name)
    expect(members.length).toBeGreaterThan(5)
    for (const member of members) {
      const row = api.split('\n').find((line) => line.startsWith(`| \`${member.name}\` |`))
      expect(row, `${member.name} has a row`).toBeDefined()
      if (member.default !== undefined) expect(row, member.name).toContain(`| \`${member.default}\` |`)
    }
  })
})

describe('docs/recipes.md', () => {
  const markdown = read('docs/recipes.md')
  const shown = [...markdown.matchAll(/<!-- file: (docs\/recipes\/[\w.-]+) -->\n```\w+\n([\s\S]*?)```/g)]

  it('shows every file of docs/recipes/, each exactly as it is', () => {
    const files = readdirSync(join(root, 'docs/recipes')).map((f) => `docs/recipes/${f}`)
    expect(shown.map(([, path]) => path).sort()).toEqual(files.sort())
    for (const [, path, code] of shown) expect(code, path).toBe(read(path!))
  })
})

describe('code samples', () => {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  const samples: Array<{ name: string; code: string; ext: string }> = []
  for (const file of files) {
    let n = 0
    for (const [, lang, code] of read(file).matchAll(/```(tsx?)\n([\s\S]*?)```/g)) {
      samples.push({ name: `${file.replace(/\W/g, '_')}_${++n}`, code: code!, ext: lang! })
    }
  }

  it('finds the samples', () => {
    expect(samples.length).toBeGreaterThan(10)
  })

  it('type-checks every TypeScript sample against src/', () => {
    // Inside the repository, so that the frameworks the recipes import resolve from node_modules.
    const dir = join(root, '.cache/samples')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const names: string[] = []
    for (const sample of samples) {
      const path = join(dir, `${sample.name}.${sample.ext}`)
      writeFileSync(path, `${sample.code}\nexport {}\n`)
      names.push(path)
    }
    const program = ts.createProgram([...names, join(root, 'src/dev.d.ts')], {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      jsx: ts.JsxEmit.ReactJSX,
      noEmit: true,
      skipLibCheck: true,
      paths: sourcePaths(),
    })
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    expect(problems).toEqual([])
    // A whole program with React's, Vue's and Svelte's types: about 2 s here, several on a loaded machine.
  }, 60_000)
})

describe('docs/errors.md', () => {
  it('explains every error code subwire writes, and no other', () => {
    const source = read('src/text.ts')
    const block = source.slice(source.indexOf('const TEXTS = {'), source.indexOf('\n}\n', source.indexOf('const TEXTS = {')))
    const codes = [...block.matchAll(/^ {2}'?([\w-]+)'?: \(/gm)].map((m) => m[1])
    const explained = [...read('docs/errors.md').matchAll(/^## ([\w-]+)$/gm)].map((m) => m[1])
    expect(codes.length).toBeGreaterThan(20)
    expect(explained.sort()).toEqual(codes.sort())
  })
})

/** Every subpath the package exports, mapped to its source, so samples check against src/ without a build. */
function sourcePaths(): Record<string, string[]> {
  const pkg = JSON.parse(read('package.json')) as { exports: Record<string, unknown> }
  const paths: Record<string, string[]> = {}
  for (const key of Object.keys(pkg.exports)) {
    if (key === './package.json') continue
    const name = key === '.' ? 'index' : key.slice(2)
    const file = [`src/${name}.ts`, `src/bindings/${name}.ts`].find((f) => existsSync(join(root, f)))!
    paths[key === '.' ? 'subwire' : `subwire/${name}`] = [join(root, file)]
  }
  return paths
}
