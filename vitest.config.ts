import { defineConfig } from 'vitest/config'

// Unit tests: happy-dom as the browser, msw as the network, fake timers for time.
export default defineConfig({
  // The development build's checks and texts (the production build is tested by vitest.prod.config.ts).
  define: { __DEV__: 'true' },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'happy-dom',
    environmentOptions: {
      happyDOM: { settings: { fetch: { disableSameOriginPolicy: true } } },
    },
    typecheck: { enabled: true, include: ['test/unit/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
    restoreMocks: true,
  },
})
