// Writes a benchmark's table between its markers in docs/benchmarks.md, leaving the rest alone.
import { readFile, writeFile } from 'node:fs/promises'

const FILE = new URL('../docs/benchmarks.md', import.meta.url)

export async function replaceSection(name, body) {
  let text = await readFile(FILE, 'utf8')
  const begin = `<!-- bench:${name}:begin -->`
  const end = `<!-- bench:${name}:end -->`
  const a = text.indexOf(begin)
  const b = text.indexOf(end)
  if (a === -1 || b === -1) throw new Error(`docs/benchmarks.md has no ${begin} … ${end} markers`)
  text = text.slice(0, a + begin.length) + '\n' + body + '\n' + text.slice(b)
  await writeFile(FILE, text)
}
