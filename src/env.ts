// The only module besides transports/* that reads browser globals. Read lazily, at subscribe()
// time, never at import time; every field can be injected through `options.env`.
import type { Env } from './types'

export function resolveEnv(overrides: Partial<Env> = {}): Env {
  const g = globalThis as Partial<typeof globalThis>
  return {
    WebSocket: g.WebSocket,
    EventSource: g.EventSource,
    fetch: g.fetch && g.fetch.bind(g),
    location: g.location?.href,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    now: Date.now,
    random: Math.random,
    ...overrides,
  }
}
