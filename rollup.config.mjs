// One config for every artifact. Per entry (subwire, subwire/core, subwire/parser,
// subwire/presets, subwire/tabs, and the bindings subwire/react, subwire/vue, subwire/svelte) an ES module and a CommonJS file with matching type declarations (.d.ts and
// .d.cts), each as a production build (the default) and a development build (the `development`
// export condition: option checks, whole error texts, diagnoses); for the main entry also UMD
// bundles for <script> tags: subwire.umd.min.js (production, minified), subwire.umd.js
// (production) and subwire.development.umd.js; and the cross-tab add-on subwire-tabs.umd.min.js. `__DEV__` in src/ is replaced here, so no file
// reads `process` at run time. Source maps carry their sources.
import typescript from '@rollup/plugin-typescript'
import terser from '@rollup/plugin-terser'
import { dts } from 'rollup-plugin-dts'
import { readFileSync } from 'node:fs'

const ts = () =>
  typescript({
    tsconfig: './tsconfig.json',
    noEmitOnError: true,
    declaration: false,
    sourceMap: true,
    inlineSources: true,
    removeComments: true,
    include: ['src/**/*.ts'],
  })

/** `__DEV__` → `true` or `false`; the production files then lose what only development needs. */
const flag = (dev) => ({
  name: 'dev-flag',
  transform(code, id) {
    if (id.endsWith('.ts') && code.includes('__DEV__')) return { code: code.replaceAll('__DEV__', String(dev)), map: null }
  },
})

/**
 * TypeScript drops every comment, the `@__PURE__` mark too: this puts the mark back in its output
 * before the module-level constants whose value the source (read again here) marks pure, so that
 * a bundler can drop what an app does not use (`nativeEventSource`, `subscribe`).
 */
const pure = {
  name: 'pure',
  transform(code, id) {
    if (!id.endsWith('.ts')) return
    const source = readFileSync(id, 'utf8')
    let out = code
    for (const [, name] of source.matchAll(/^export const (\w+)(?::[^=]+)? = \/\* @__PURE__ \*\/ /gm)) {
      out = out.replace(`export const ${name} = `, `export const ${name} = /*#__PURE__*/ `)
    }
    if (out !== code) return { code: out, map: null }
  },
}

const banner = '/*! subwire — MIT License */'
/**
 * The UMD files are for a <script> tag, and a page that loads one subscribes at once: this V8
 * compile hint (Chromium's explicit compile hints) has their functions compiled as the file loads,
 * off the main thread, instead of one by one at the first subscribe(). In a fresh page the first
 * event came ~5 ms sooner (resp → open 4–8 ms → 1.5–3 ms), page load unchanged. Other engines read a comment.
 */
const hint = '//# allFunctionsCalledOnLoad'
/** How the UMD files are minified; scripts/size.mjs minifies `subwire/core` bundles the same way. */
export const minifyOptions = { ecma: 2020, compress: { passes: 3, unsafe_arrows: true } }
const min = terser({ ...minifyOptions, format: { comments: false, preamble: hint } })

/** entry name → source */
const entries = {
  subwire: 'src/index.ts',
  core: 'src/core.ts',
  parser: 'src/parser.ts',
  presets: 'src/presets.ts',
  tabs: 'src/tabs.ts',
  react: 'src/bindings/react.ts',
  vue: 'src/bindings/vue.ts',
  svelte: 'src/bindings/svelte.ts',
}

/**
 * The bindings import subwire itself as the package (`subwire`, whichever build the app resolves:
 * one copy of the core per app) and their framework as a peer.
 */
const bindings = {
  name: 'bindings',
  resolveId(source, importer) {
    if (importer?.includes('/src/bindings/') && source === '../index') return { id: 'subwire', external: true }
    if (['react', 'vue'].includes(source)) return { id: source, external: true }
  },
}

const builds = []
for (const [name, input] of Object.entries(entries)) {
  for (const dev of name === 'subwire' || name === 'core' ? [false, true] : [false]) {
    const suffix = dev ? '.development' : ''
    builds.push({
      input,
      plugins: [bindings, ts(), pure, flag(dev)],
      output: [
        { file: `dist/${name}${suffix}.mjs`, format: 'es', sourcemap: true, banner },
        { file: `dist/${name}${suffix}.cjs`, format: 'cjs', exports: 'named', sourcemap: true, banner },
        ...(name === 'subwire'
          ? dev
            ? [{ file: 'dist/subwire.development.umd.js', format: 'umd', name: 'Subwire', sourcemap: true, banner: `${hint}\n${banner}` }]
            : [
                { file: 'dist/subwire.umd.js', format: 'umd', name: 'Subwire', sourcemap: true, banner: `${hint}\n${banner}` },
                { file: 'dist/subwire.umd.min.js', format: 'umd', name: 'Subwire', sourcemap: true, plugins: [min] },
              ]
          : name === 'tabs'
            ? [{ file: 'dist/subwire-tabs.umd.min.js', format: 'umd', name: 'SubwireTabs', sourcemap: true, plugins: [min] }]
            : []),
      ],
    })
  }
}

export default [
  ...builds,
  ...Object.entries(entries).map(([name, input]) => ({
    input,
    plugins: [bindings, dts()],
    output: [
      { file: `dist/${name}.d.ts`, format: 'es' },
      { file: `dist/${name}.d.cts`, format: 'es' },
    ],
  })),
]
