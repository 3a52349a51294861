// Node releases other than the one running the tests, for node.test.ts: the official binaries as
// the npm registry carries them (the `node-<platform>-<arch>` packages the `node` package installs),
// fetched once with `npm pack` into .cache/node/. Fails loudly when the registry is out of reach.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** The releases tested besides the running one (the oldest `engines` allows, and the newest LTS). */
export const RELEASES = { 18: '18.20.8', 22: '22.23.5' }

const cache = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../.cache/node')

/** The path of Node `major`'s binary, downloaded on first use. */
export function nodeBinary(major) {
  const version = RELEASES[major]
  if (!version) throw new Error(`no Node ${major} release pinned in test/node/versions.mjs`)
  const binary = join(cache, version, 'node')
  if (existsSync(binary)) return binary
  const work = mkdtempSync(join(tmpdir(), 'subwire-node-'))
  try {
    const spec = `node-${process.platform}-${process.arch}@${version}`
    execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], { stdio: 'pipe' })
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))
    if (!tarball) throw new Error(`npm pack ${spec} gave no tarball`)
    execFileSync('tar', ['xzf', join(work, tarball), '-C', work, 'package/bin/node'])
    mkdirSync(join(cache, version), { recursive: true })
    renameSync(join(work, 'package/bin/node'), binary)
    return binary
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
