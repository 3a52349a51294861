// One config for every artifact: ESM for bundlers, UMD (+ min) for <script> tags, a CommonJS
// copy of the UMD for require(), the parser entry, the core entry (transports one by one, for
// tree-shaking), and bundled type declarations.
import typescript from '@rollup/plugin-typescript'
import terser from '@rollup/plugin-terser'
import { dts } from 'rollup-plugin-dts'

const ts = () =>
  typescript({
    tsconfig: './tsconfig.json',
    noEmitOnError: true,
    declaration: false,
    sourceMap: true,
    removeComments: true,
    include: ['src/**/*.ts'],
  })

const banner = '/*! subwire — MIT License */'

export default [
  {
    input: 'src/index.ts',
    plugins: [ts()],
    output: [
      { file: 'dist/subwire.mjs', format: 'es', sourcemap: true, banner },
      { file: 'dist/subwire.umd.js', format: 'umd', name: 'Subwire', sourcemap: true, banner },
      { file: 'dist/subwire.umd.cjs', format: 'umd', name: 'Subwire', sourcemap: true, banner },
      {
        file: 'dist/subwire.umd.min.js',
        format: 'umd',
        name: 'Subwire',
        sourcemap: true,
        plugins: [terser({ ecma: 2020, compress: { passes: 3, unsafe_arrows: true }, format: { comments: false } })],
      },
    ],
  },
  {
    input: 'src/parser.ts',
    plugins: [ts()],
    output: { file: 'dist/parser.mjs', format: 'es', sourcemap: true, banner },
  },
  {
    input: 'src/core.ts',
    plugins: [ts()],
    output: { file: 'dist/core.mjs', format: 'es', sourcemap: true, banner },
  },
  {
    input: 'src/presets.ts',
    plugins: [ts()],
    output: { file: 'dist/presets.mjs', format: 'es', sourcemap: true, banner },
  },
  { input: 'src/index.ts', plugins: [dts()], output: { file: 'dist/subwire.d.ts', format: 'es' } },
  { input: 'src/parser.ts', plugins: [dts()], output: { file: 'dist/parser.d.ts', format: 'es' } },
  { input: 'src/core.ts', plugins: [dts()], output: { file: 'dist/core.d.ts', format: 'es' } },
  { input: 'src/presets.ts', plugins: [dts()], output: { file: 'dist/presets.d.ts', format: 'es' } },
]
