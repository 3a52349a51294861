// Whether a fetch to an origin may carry `Last-Event-ID`: always on the page's own origin; across
// origins the header needs a CORS preflight, which the server may not answer. Learned per origin
// (in this page) by trying, by the fetch transports (http.ts) and by the native EventSource that a
// fetch turned to (native.ts). And whether an event stream's URL takes the resume id in its query
// where the header cannot go: a plain server may route on the exact URL.
import { isSameOrigin } from '../url'
import type { TransportContext } from './types'

const allowed = new Map<string, boolean>()

const originOf = (url: string) => new URL(url).origin

/** `true`, `false`, or `undefined` (not known yet). */
export function lastEventIdHeader(target: string, env: TransportContext['env']): boolean | undefined {
  return isSameOrigin(target, env.location) || allowed.get(originOf(target))
}

/** The origin of `target` took a request with the header. */
export const allowHeader = (target: string) => void allowed.set(originOf(target), true)

/** The origin of `target` turned out not to allow the header (the request without it worked). */
export const refuseHeader = (target: string) => void allowed.set(originOf(target), false)

/** Event-stream URLs that answered the resume id in their query as a missing page. */
const exact = new Set<string>()

/** Whether the resume id may go in the query of `target`, an event stream's URL. */
export const queryOk = (target: string) => !exact.has(target)

/** `target` routes on the exact URL (a plain server: 404 with the id in the query): it is asked as given from now on, in this page. */
export const refuseQuery = (target: string) => void exact.add(target)
