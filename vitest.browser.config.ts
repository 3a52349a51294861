import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// Browser files side by side: each runs its own Chromium against its own real servers and spends
// most of its time waiting on them (publish rates, cuts, timeouts), so two share two cores well —
// measured on two cores, 8.7 minutes instead of 16.6, every test green; one per two cores beyond
// that, at most four. One core: one at a time. SUBWIRE_TEST_WORKERS=n overrides (1: one at a time).
const cores = availableParallelism()
const workers = Number(process.env.SUBWIRE_TEST_WORKERS) || (cores < 2 ? 1 : Math.min(4, Math.max(2, Math.floor(cores / 2))))

// End-to-end tests: real Chromium (playwright-core) against the real reference server.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts', 'test/node/**/*.test.ts'],
    environment: 'node',
    fileParallelism: workers > 1,
    maxWorkers: workers,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
