// Makes a fresh clone ready, with Node built-ins only (it runs before `npm ci`):
//   node scripts/setup.mjs            install dependencies when node_modules is missing
//   node scripts/setup.mjs --browser  also make sure Chromium is there (apt-get when root)
//   node scripts/setup.mjs --build    also build dist/ when it is missing
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const run = (command) => execSync(command, { stdio: 'inherit' })

if (!existsSync('node_modules/.package-lock.json')) {
  console.log('setup: installing dependencies (npm ci)')
  run('npm ci --no-audit --no-fund')
}

if (process.argv.includes('--browser')) {
  const path = process.env.CHROME_PATH ?? '/usr/bin/chromium'
  if (!existsSync(path)) {
    if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
      console.log('setup: installing Chromium (apt-get install chromium)')
      run('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium')
    } else {
      console.error(`setup: no browser at ${path}; install Chromium or set CHROME_PATH (the browser tests will fail without it)`)
    }
  }
}

if (process.argv.includes('--build') && !existsSync('dist/subwire.umd.min.js')) {
  console.log('setup: building dist/')
  run('npm run build --silent')
}
