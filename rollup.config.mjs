// One config for every artifact: per entry (subwire, subwire/core, subwire/parser,
// subwire/presets) an ES module and a CommonJS file with matching type declarations (.d.ts and
// .d.cts), and for the main entry a UMD bundle (+ min) for <script> tags. Source maps carry their
// sources.
import typescript from '@rollup/plugin-typescript'
import terser from '@rollup/plugin-terser'
import { dts } from 'rollup-plugin-dts'

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

const banner = '/*! subwire — MIT License */'

/** entry name → source */
const entries = { subwire: 'src/index.ts', core: 'src/core.ts', parser: 'src/parser.ts', presets: 'src/presets.ts' }

export default [
  ...Object.entries(entries).map(([name, input]) => ({
    input,
    plugins: [ts()],
    output: [
      { file: `dist/${name}.mjs`, format: 'es', sourcemap: true, banner },
      { file: `dist/${name}.cjs`, format: 'cjs', exports: 'named', sourcemap: true, banner },
      ...(name === 'subwire'
        ? [
            { file: 'dist/subwire.umd.js', format: 'umd', name: 'Subwire', sourcemap: true, banner },
            {
              file: 'dist/subwire.umd.min.js',
              format: 'umd',
              name: 'Subwire',
              sourcemap: true,
              plugins: [terser({ ecma: 2020, compress: { passes: 3, unsafe_arrows: true }, format: { comments: false } })],
            },
          ]
        : []),
    ],
  })),
  ...Object.entries(entries).map(([name, input]) => ({
    input,
    plugins: [dts()],
    output: [
      { file: `dist/${name}.d.ts`, format: 'es' },
      { file: `dist/${name}.d.cts`, format: 'es' },
    ],
  })),
]
