// Installs the bench's own dependencies (the peer libraries, esbuild, socket.io) into
// bench/node_modules from bench/package-lock.json, once. The test suite never needs them.
import { existsSync, statSync } from 'node:fs'
import { execSync } from 'node:child_process'

const here = new URL('.', import.meta.url).pathname
const lock = here + 'package-lock.json'
const marker = here + 'node_modules/.package-lock.json'
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('installing the bench dependencies (npm ci in bench/)…')
  execSync('npm ci --no-audit --no-fund', { cwd: here, stdio: 'inherit' })
}
