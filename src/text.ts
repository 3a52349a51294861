// Every text subwire writes into an error, by a stable code. The development build carries the
// whole text, with the likely fix; the production build carries only the code and its numbers,
// and points to docs/errors.md, which explains each code. (`__DEV__` is replaced at build time;
// the texts are dropped from the production files.)
import type { TransportName } from './types'

const fix = (status: number) =>
  status === 204
    ? ' (the server said stop)'
    : status === 401 || status === 403
      ? ' (check the token in headers or query)'
      : status === 400 || status === 404 || status === 405 || status === 410
        ? ' (no stream here: check url, give this transport its own with urls, or leave it out of transports)'
        : status === 429 || status === 503
          ? ' (the server is busy; subwire waits as Retry-After says)'
          : status >= 500
            ? ' (server error; subwire retries with backoff)'
            : ''

/** A URL as an error may show it: without its query and fragment, where tokens travel. */
const bare = (url: unknown) => String(url).replace(/[?#][^]*/, '')

const TEXTS = {
  network: () => 'network error or CORS rejection: is the server up, and does it send Access-Control-Allow-Origin for this origin?',
  'ws-refused': () =>
    "could not connect (upgrade refused, blocked by a proxy, or a network error): is the server up, and does it accept WebSocket at this URL from this page's origin?",
  'ws-closed': (code: number, reason: string) => `closed with code ${code}${reason ? ` (${reason.slice(0, 120)})` : ''}`,
  'native-failed': () => "EventSource failed or the stream ended (the native object tells no more: use eventsource: 'fetch' for details)",
  http: (status: number) => `HTTP ${status}${fix(status)}`,
  'no-answer': (ms: number, why?: string) => `no answer within connectTimeout (${ms} ms): ${why ?? 'a proxy may hold it, or the server is down'}`,
  starved: (other?: TransportName) =>
    `accepted, then silent${other ? ` while ${other} delivered` : ' for connectTimeout'}: a proxy passes the connection and holds its data back (nginx: proxy_buffering off, or the server sends X-Accel-Buffering: no), or pass silent: 'trust' for a server quiet by design`,
  held: (other: TransportName) =>
    `no answer yet while ${other} delivered: a proxy holds the response back (nginx buffers a proxied response, headers included, unless proxy_buffering off or the server sends X-Accel-Buffering: no), or (not a WebSocket) the server sends its headers only with its first event`,
  silent: (ms: number) => `silent for heartbeatTimeout (${ms} ms) although its server sends heartbeats: dropped or cut by a proxy`,
  'poll-timeout': (ms: number) => `no whole answer within longPollTimeout (${ms} ms)`,
  'not-long-poll': (n: number) => `answered at once with nothing new ${n} times in a row: not a long-poll endpoint (hold requests until there are events after lastEventId)`,
  unreadable: () => 'sent nothing readable (is this the right endpoint? see the frames and parse options)',
  html: () => 'an HTML page came back where events were expected (a login page or a proxy error page?): check url, and what stands in front of the server',
  'content-type': (type: string, sse: boolean) => `wrong Content-Type "${type}": answer text/event-stream${sse ? '' : ' or application/json, or pass parse'}`,
  redirect: () => "redirected, and the request carries your headers: point url at the final location, or pass redirect: 'follow'",
  buffered: () => 'events arrive in bursts: a proxy buffers the stream (X-Accel-Buffering: no, Cache-Control: no-transform)',
  stale: (param: string) =>
    `the server did not resume from the last event id: it sent only events delivered already (dropped). It must read ?${param}= or Last-Event-ID (across origins, allow that header in its CORS preflight, or use the native EventSource)`,
  'no-ids': () =>
    'the server sent again, on a new connection, events delivered before: they carry no ids, so subwire cannot resume or drop them. Give events ids (and read ?lastEventId= on reconnect); for nchan, use the nchan() preset from subwire/presets, which reads its ids',
  'cut-off': () => 'the answer was cut off before its end, and it carried no ids to resume from: send the request again (or have the server give ids and resume after Last-Event-ID)',
  'gave-up': () => 'gave up reconnecting (retry said so)',
  unsupported: () => 'no transport can run here (no WebSocket, fetch or EventSource as needed): pass other transports, or provide them through env',
  provider: (which: string, cause: unknown) => `the ${which} function failed (${cause}); retrying with backoff`,
  'bad-header': (key: string) => `the headers option gave an invalid header "${key.slice(0, 40)}"`,
  decode: (cause: unknown) => `event skipped, decode failed: ${cause} (check the decode option against what the server sends)`,
  overflow: (n: number) => `iterator fell ${n} events behind: consume faster or raise bufferSize`,
  'big-event': (max: number) => `event over maxEventSize (${max}) dropped: raise maxEventSize if such events are expected`,
  'big-frame': (max: number) => `frame over maxEventSize (${max}) dropped`,
  'big-body': (max: number) => `body over maxEventSize (${max}) dropped`,
  'bad-id': (max: number) => `id ignored (not a string or number, holds NUL/CR/LF, or over maxIdLength ${max})`,
  'not-json': (cause: unknown) => `not JSON (${cause})`,
  'not-envelopes': () => 'body is not {id?, event?, data, retry?} objects: pass parse to read this format',
  'parse-failed': (cause: unknown) => `parse threw, or gave what is not an event: ${cause}`,
  'empty-frame': () => 'frame dropped: it holds no event, id or heartbeat',
  config: (message: string) => `subscribe(): ${message}`,
  'mixed-content': (name: string, url: string) =>
    `subscribe(): ${name} "${bare(url)}" is plain http:/ws: on an https: page: the browser blocks it as mixed content before any request leaves (it would look like a network or CORS error). Use https:/wss:`,
  'bad-url': (name: string, url: unknown, paged: boolean) =>
    `subscribe(): ${name} "${bare(url)}" is ${paged || !/^[\\/.]/.test(String(url)) ? 'not an http(s): or ws(s): URL: pass one such as https://example.com/events or /events' : 'relative and there is no page to resolve it against (server-side rendering?): subscribe in the browser only (e.g. in useEffect or onMounted), or pass an absolute URL'}`,
}

/** The stable codes of subwire's errors; docs/errors.md explains each. */
export type Code = keyof typeof TEXTS

/** A code and its text, as errors take them. */
export type Said = readonly [Code, string]

/** The text of `code` (in production: the code, its numbers, and where it is explained). */
export function say<C extends Code>(code: C, ...args: Parameters<(typeof TEXTS)[C]>): Said {
  return [
    code,
    __DEV__
      ? (TEXTS[code] as (...a: unknown[]) => string)(...args)
      : `${[code, ...args.filter((a) => typeof a === 'number')].join(' ')} (docs/errors.md#${code})`,
  ]
}
