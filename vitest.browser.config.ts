import { defineConfig } from 'vitest/config'

// End-to-end tests: real Chromium (playwright-core) against the real reference server.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts', 'test/node/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
