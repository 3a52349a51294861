// Which connection a subscription uses. Subscriptions to the same endpoint with the same
// connection options share one connection in a page (reference-counted: it closes a short grace
// period after the last one leaves, so a component that remounts does not reconnect), and across
// the tabs of an origin when sharing across tabs is on (tabs.ts). Options that only concern one
// subscription (decode, listeners, signal, bufferSize, log) do not count.
import { createConnection, type Connection, type Negotiation, type Transports } from './connection'
import type { Tabs } from './tabs'
import type { Resolved, SubscribeOptions } from './options'

/** What a `subscribe` can be given besides its transports: side connections and sharing across tabs. */
export interface Plugins {
  /** Side connections and the remembered transport (the `subwire` entry has them). */
  negotiation?: Negotiation | undefined
  /** Sharing across tabs (`subwire/tabs`). */
  tabs?: Tabs | undefined
}

/** How long a shared connection outlives its last subscription, in ms. */
export const GRACE = 1000

export type Registry = Map<string, Connection>

const ids = new WeakMap<object, number>()
let nextId = 0
/** A stable number per function or object, so options holding functions can be compared. */
const idOf = (value: object): number => {
  let id = ids.get(value)
  if (id === undefined) ids.set(value, (id = ++nextId))
  return id
}

/**
 * What decides whether two subscriptions can share a connection. In a page functions compare by
 * identity; across tabs (`tabs`) by their source, the same in every tab of one app.
 */
export function shareKey(resolved: Resolved, options: SubscribeOptions, tabs = false): string {
  const { decode, signal, onMessage, onError, onStateChange, bufferSize, lastEventId, share, env, log, debug, ...rest } = options
  return JSON.stringify([resolved.nodes, resolved.order, tabs ? 0 : env ? idOf(env) : 0, tabs ? 0 : log ? idOf(log) : 0, rest], (_, value: unknown) =>
    typeof value === 'function' ? (tabs ? String(value) : `f${idOf(value)}`) : value,
  )
}

/**
 * The connection for a new subscription: a shared one when sharing is on and one exists at the
 * same resume point, else a new one (registered for others to share when sharing is on). Across
 * tabs when `share` is `'tabs'`, or `'auto'` with no `headers`/`query` (the credentials are then
 * the browser's own, the same in every tab) or with a `shareKey`; and the browser has Web Locks and
 * BroadcastChannel.
 */
export function connectionFor(
  registry: Registry,
  implementations: Transports,
  resolved: Resolved,
  options: SubscribeOptions,
  { negotiation, tabs }: Plugins = {},
): { connection: Connection; shared: boolean } {
  const { env } = resolved
  const share = resolved.share as SubscribeOptions['share']
  if (share === false) return { connection: createConnection(resolved, implementations, 0, undefined, negotiation), shared: false }
  const key = shareKey(resolved, options)
  const existing = registry.get(key)
  // A subscription that asks for its own resume point gets its own connection, unless the shared
  // one is exactly there.
  if (existing && (!resolved.lastEventId || resolved.lastEventId === existing.lastEventId)) return { connection: existing, shared: true }
  if (existing) return { connection: createConnection(resolved, implementations, 0, undefined, negotiation), shared: false }
  const unregister = () => registry.get(key) === connection && registry.delete(key)
  const acrossTabs = tabs && (share === 'tabs' || (share === 'auto' && (options.shareKey !== undefined || (options.headers === undefined && options.query === undefined)))) && env.locks && env.BroadcastChannel
  const connection: Connection = acrossTabs
    ? tabs(
        `subwire:${new URL(resolved.nodes[0]!).origin}:${shareKey(resolved, options, true)}`,
        resolved,
        (lastEventId) => createConnection({ ...resolved, lastEventId }, implementations, 0, undefined, negotiation),
        GRACE,
        unregister,
      )
    : createConnection(resolved, implementations, GRACE, unregister, negotiation)
  registry.set(key, connection)
  return { connection, shared: true }
}
