// npm run soak: the chaos soak for 5 minutes (or SOAK_MS), result written to docs/benchmarks.md.
import { cpus } from 'node:os'
import { execSync } from 'node:child_process'
import { CEILING, MAX_STUCK, soak } from '../test/browser/chaos.mjs'
import { replaceSection } from '../bench/docs.mjs'
import { CHROME_PATH } from './chromium.mjs'

const durationMs = Number(process.env.SOAK_MS ?? 300_000)
const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1e9)
console.log(`soak: ${durationMs / 1000} s, seed ${seed}`)
const r = await soak({ durationMs, seed })
const ok = !r.crashed && !r.pageErrors.length && !r.duplicates && !r.missing && r.inOrder && r.maxPerSecond <= CEILING && r.longestStuck <= MAX_STUCK
const chromium = execSync(`${CHROME_PATH} --version`).toString().trim()
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`
const body = `Run ${new Date().toISOString().slice(0, 10)}, ${cpus()[0].model.trim()} × ${cpus().length}, Node ${process.version}, ${chromium}; seed ${seed}.

| | |
|---|---|
| duration | ${(r.durationMs / 1000).toFixed(0)} s (chaos for 85 %, then calm) |
| events delivered | ${r.received} of ${r.total}, ${r.duplicates} doubled, ${r.missing} missing, ${r.inOrder ? 'in order' : '**out of order**'} |
| requests and upgrades | ${r.requests}, at most ${r.maxPerSecond} in one second (ceiling ${CEILING}) |
| longest time stuck | ${(r.longestStuck / 1000).toFixed(1)} s with events waiting and no delivery, no request (bound ${MAX_STUCK / 1000} s) |
| events by transport | ${Object.entries(r.transports).map(([t, n]) => `${t} ${n}`).join(', ')} |
| errors reported (and recovered) | ${Object.entries(r.errors).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'} |
| chaos done | ${Object.entries(r.actions).map(([k, n]) => `${k} ${n}`).join(', ')} |
| heap after GC | ${kib(r.heapStart)} at 10 % → ${kib(r.heapEnd)} at the end |
| verdict | ${ok ? 'pass' : '**fail**'} |`
await replaceSection('soak', body)
console.log(body)
if (!ok) process.exit(1)
