import { minify } from 'terser'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
const src = readFileSync(process.argv[2], 'utf8')
const names = process.argv[3] ? process.argv[3].split(',') : null
const base = await minify(src, { ecma: 2020, compress: { passes: 3, unsafe_arrows: true } })
const g = (c) => gzipSync(c, { level: 9 }).length
console.log('base', base.code.length, g(base.code))
if (names) {
  const r = await minify(src, { ecma: 2020, compress: { passes: 3, unsafe_arrows: true }, mangle: { properties: { regex: new RegExp('^(' + names.join('|') + ')$') } } })
  console.log('mangled', r.code.length, g(r.code))
}
