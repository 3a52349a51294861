// The only module besides transports/* that reads browser globals. Read lazily, at subscribe()
// time, never at import time; every field can be injected through `options.env`.
import type { Env } from './types'

export function resolveEnv(overrides: Partial<Env> = {}): Env {
  const g = globalThis as Partial<typeof globalThis>
  let storage: Env['storage'] | undefined
  return {
    WebSocket: g.WebSocket,
    EventSource: g.EventSource,
    fetch: g.fetch?.bind(g),
    location: g.location?.href,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    now: Date.now,
    random: Math.random,
    window: typeof g.addEventListener === 'function' ? (g as unknown as EventTarget) : undefined,
    online: () => g.navigator?.onLine !== false,
    hidden: () => g.document?.visibilityState === 'hidden',
    // Read on first use: the first read of `localStorage` in a page opens its storage (1-6 ms in
    // Chromium), which a subscription that remembers no transport (one transport, rememberFor: 0)
    // never needs, and which would delay its first request.
    get storage() {
      return (storage ??= localStorageOf(g))
    },
    locks: g.navigator?.locks,
    BroadcastChannel: g.BroadcastChannel,
    ...(__DEV__ && {
      httpVersion(url: string) {
        // The page's own navigation, or the latest resource fetched from that origin.
        try {
          const origin = new URL(url).origin
          const entries = [...g.performance!.getEntriesByType('navigation'), ...g.performance!.getEntriesByType('resource')] as PerformanceResourceTiming[]
          return entries.filter((e) => new URL(e.name).origin === origin && e.nextHopProtocol).pop()?.nextHopProtocol
        } catch {
          return undefined
        }
      },
    }),
    ...overrides,
  }
}

// Reading localStorage throws where storage is blocked (sandboxed frames, some privacy modes);
// then the remembered transport lives as long as this page.
function localStorageOf(g: Partial<typeof globalThis>): Env['storage'] {
  let local: Env['storage'] | undefined
  try {
    local = g.localStorage
  } catch {
    // blocked
  }
  const memory = new Map<string, string>()
  return local ?? { getItem: (key) => memory.get(key) ?? null, setItem: (key, value) => void memory.set(key, value) }
}
