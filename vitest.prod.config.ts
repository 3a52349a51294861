import { defineConfig, mergeConfig } from 'vitest/config'
import base from './vitest.config'

// The unit tests again, against the production build's code: no option checks, error texts by code.
export default mergeConfig(base, defineConfig({ define: { __DEV__: 'false' }, test: { typecheck: { enabled: false } } }))
