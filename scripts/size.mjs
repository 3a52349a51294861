// Size check, part of `npm test`: min+gzip of each entry point, failing over its budget.
// Budgets only go down; raising one needs a reason in the commit message.
import { readFile } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { minify } from 'terser'

/**
 * path → budget in bytes of min+gzip. The full UMD was 6.5 KiB before the lifecycle rewrite; it
 * carries now the option checks, the connection/subscription split, proof with a second opinion,
 * verified probes, bounded hints, frame modes and hooks, and sharing (in the page, and across
 * tabs: about 1.2 KiB of it), and poll bodies read only up to maxEventSize (0.06 KiB).
 * Raised from 13.3 to 14.4 KiB for parity with the native EventSource (+1.06 KiB: the replay
 * window, Last-Event-ID across origins and the turn to the native object, its own reconnects,
 * progress-based backoff, the fatal rule, and their messages). Temporary: the core as a state
 * machine with a production build takes the full UMD to 9.0 KiB, and this budget with it.
 * 13.7 KiB: the state machine as data and a pure function with its driver and side-connection
 * plug-in (the happy-eyeballs race included), with texts and option checks moved to the development
 * build and sharing across tabs moved to its add-on (subwire-tabs.umd.min.js).
 * 13.8 KiB: streams that are requests (method, body, a oneShot answer's end and cut-off: +0.29 KiB)
 * the mixed-content check before connecting (+0.05 KiB) and the sharing rule (+0.03 KiB). The
 * 9.0 KiB target of the core issue is not met.
 * 13.9 KiB: the connection's driver split from its face (+0.07 KiB): `createConnection` is no
 * longer one 200-line closure (the face, `drive` under 120 lines, `openTransport`, `crowded`).
 * 14.0 KiB: no function in src/ over ~120 lines (+0.16 KiB): a subscription as a record and the
 * functions over it instead of one 190-line closure, the frame readers out of `createFrames`, the
 * parser's line splitter and UTF-8 decoder out of `createParser`; partly paid back (−0.15 KiB) by
 * `env.httpVersion` in the development build only (it serves a development diagnosis) and state
 * literals that leave out what starts false or undefined.
 */
export const budgets = [
  { name: 'full UMD (dist/subwire.umd.min.js)', path: 'dist/subwire.umd.min.js', limit: 14.0 * 1024, minified: true },
  { name: 'parser entry (dist/parser.mjs)', path: 'dist/parser.mjs', limit: 1.5 * 1024, minified: false },
]

export async function measure(path, minified) {
  const source = await readFile(path, 'utf8')
  const code = minified ? source : (await minify(source, { module: true })).code
  return { min: Buffer.byteLength(code), gzip: gzipSync(code, { level: 9 }).length }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let failed = false
  for (const { name, path, limit, minified } of budgets) {
    const { min, gzip } = await measure(path, minified)
    const ok = gzip <= limit
    failed ||= !ok
    console.log(
      `${ok ? 'ok  ' : 'OVER'} ${name}: ${(min / 1024).toFixed(2)} KiB min, ${(gzip / 1024).toFixed(2)} KiB min+gzip (budget ${(limit / 1024).toFixed(2)} KiB)`,
    )
  }
  if (failed) {
    console.error('size budget exceeded')
    process.exit(1)
  }
}
