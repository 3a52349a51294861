// Which connection a subscription uses. Subscriptions to the same endpoint with the same
// connection options share one connection in a page (reference-counted: it closes a short grace
// period after the last one leaves, so a component that remounts does not reconnect), and across
// the tabs of an origin when sharing across tabs is on (tabs.ts) and the options allow it by rule
// (plain data, or a shareKey). Options that only concern one subscription (decode, listeners,
// signal, bufferSize, log) do not count.
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

/** The version of the protocol tabs speak; in every channel and lock name, so two app versions never mix. */
const PROTOCOL = 4

/**
 * What decides whether two subscriptions can share a connection: every option that changes what
 * goes over the wire (`share` included), not those that concern one subscription alone (decode,
 * listeners, signal, bufferSize, lastEventId, log, debug). In a page functions and other objects
 * (FormData, Blob) compare by identity. Across tabs (`tabs`) by rule: only when all of it is plain
 * data (a function may hold credentials another tab does not have, and its source says nothing of
 * what it returns), or when the app names the scope with `shareKey` (the signed-in user's id);
 * else `undefined`: not across tabs.
 */
export function shareKey(resolved: Resolved, options: SubscribeOptions, tabs?: true): string | undefined {
  const { decode, signal, onMessage, onError, onStateChange, bufferSize, lastEventId, env, log, debug, share, ...rest } = options
  let opaque = false
  const key = JSON.stringify([resolved.nodes, resolved.order, resolved.share, tabs ? PROTOCOL : env ? idOf(env) : 0, rest], (name, value: unknown) =>
    name && value && (typeof value === 'function' || (typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype))
      ? ((opaque = true), tabs ? 'f' : `f${idOf(value)}`)
      : value,
  )
  return tabs && opaque && rest.shareKey === undefined ? undefined : key
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
  const key = shareKey(resolved, options)!
  const existing = registry.get(key)
  // A subscription that asks for its own resume point gets its own connection, unless the shared
  // one is exactly there.
  if (existing && (!resolved.lastEventId || resolved.lastEventId === existing.lastEventId)) return { connection: existing, shared: true }
  if (existing) return { connection: createConnection(resolved, implementations, 0, undefined, negotiation), shared: false }
  const unregister = () => registry.get(key) === connection && registry.delete(key)
  const tabKey = tabs && share !== 'page' && env.locks && env.BroadcastChannel && shareKey(resolved, options, true)
  const connection: Connection = tabKey
    ? tabs(
        `subwire:${new URL(resolved.nodes[0]!).origin}:${tabKey}`,
        resolved,
        (lastEventId, failing) => createConnection({ ...resolved, lastEventId }, implementations, 0, undefined, negotiation, failing),
        GRACE,
        unregister,
      )
    : createConnection(resolved, implementations, GRACE, unregister, negotiation)
  registry.set(key, connection)
  return { connection, shared: true }
}
