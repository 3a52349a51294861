// Makes a fresh clone ready, with Node built-ins only (it runs before `npm ci`):
//   node scripts/setup.mjs            install dependencies when node_modules is missing
//   node scripts/setup.mjs --browser  also make sure Chromium, nginx + nchan, Redis and the Python
//                                     servers' modules are there (apt-get when root)
//   node scripts/setup.mjs --build    also build dist/ when it is missing
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const run = (command) => execSync(command, { stdio: 'inherit' })

if (!existsSync('node_modules/.package-lock.json')) {
  console.log('setup: installing dependencies (npm ci)')
  run('npm ci --no-audit --no-fund')
}

if (process.argv.includes('--browser')) {
  // What the browser tests need from the system: Chromium; nginx with the nchan module and Redis
  // for the nchan tests; Pushpin and Debian's python3 with aiohttp, Flask and websockets for the
  // servers tests. Installed with apt-get when run as root; else the tests say what is missing
  // (they never skip).
  const browser = process.env.CHROME_PATH ?? '/usr/bin/chromium'
  const needs = [
    [browser, 'chromium'],
    ['/usr/sbin/nginx', 'nginx'],
    ['/usr/lib/nginx/modules/ngx_nchan_module.so', 'libnginx-mod-nchan'],
    ['/usr/bin/redis-server', 'redis-server'],
    ['/usr/bin/pushpin', 'pushpin'],
    ['/usr/lib/python3/dist-packages/aiohttp', 'python3-aiohttp'],
    ['/usr/lib/python3/dist-packages/flask', 'python3-flask'],
    ['/usr/lib/python3/dist-packages/websockets', 'python3-websockets'],
  ]
  const missing = needs.filter(([path, pkg]) => !existsSync(path) && !(pkg === 'chromium' && process.env.CHROME_PATH))
  if (missing.length) {
    const packages = missing.map(([, pkg]) => pkg).join(' ')
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      console.log(`setup: installing ${packages} (apt-get)`)
      run(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages}`)
    } else {
      console.error(`setup: missing ${missing.map(([path]) => path).join(', ')}; install ${packages} (the browser tests will fail without them), or set CHROME_PATH`)
    }
  }
}

if (process.argv.includes('--build') && !existsSync('dist/subwire.umd.min.js')) {
  console.log('setup: building dist/')
  run('npm run build --silent')
}
