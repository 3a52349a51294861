// The Python servers of test/servers, each run by Debian's python3 (python3-aiohttp, -flask,
// -websockets; .ci/run installs them) on a free port. Control over HTTP on the same port:
// /publish?k=N sends message "mN" with id N, /cut drops every open stream.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort, stop, waitForPort } from '../nchan/nchan.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3'

export async function startPython(script, { path = '/events' } = {}) {
  const port = await freePort()
  const child = spawn(PYTHON, [fileURLToPath(new URL(script, import.meta.url)), String(port), ROOT], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk).length > 20000 && (stderr = stderr.slice(-10000)))
  try {
    await Promise.race([waitForPort(port, 20_000), new Promise((_, reject) => child.on('exit', () => reject(new Error('exited'))))])
  } catch {
    child.kill('SIGKILL')
    throw new Error(`${PYTHON} ${script} did not start (apt-get install -y python3-aiohttp python3-flask python3-websockets; .ci/run does):\n${stderr.slice(-2000)}`)
  }
  const origin = `http://127.0.0.1:${port}`
  const call = async (what) => {
    const response = await fetch(`${origin}${what}`)
    if (!response.ok) throw new Error(`${script} ${what}: HTTP ${response.status}`)
    await response.text()
  }
  return {
    origin,
    path,
    publish: (k) => call(`/publish?k=${k}`),
    cut: () => call('/cut'),
    close: () => stop(child),
  }
}
