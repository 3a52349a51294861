// The options of subscribe(): one interface, every field with its default and why; checked once,
// at subscribe() time, so a bad value is a clear error there and not a loop later.
import { MAX_TIMER, policyOf, type Policy } from './backoff'
import { resolveEnv } from './env'
import { SubwireError } from './errors'
import { say } from './text'
import type { Transport } from './transports/types'
import type {
  Decoder,
  Env,
  LogRecord,
  Parse,
  Provider,
  RetryFunction,
  RetryOptions,
  StateChange,
  StatusAction,
  SubwireEvent,
  TransportName,
} from './types'

/** Options of {@link subscribe}. Every field is optional; defaults are listed with each. */
export interface SubscribeOptions {
  /**
   * The transports to use, in order of preference. Those the browser lacks are skipped.
   * @default ['websocket', 'eventsource', 'longpoll', 'poll']
   */
  transports?: TransportName[]
  /** A different URL for some transports, e.g. `{ websocket: 'wss://push.example.com/ws' }`. */
  urls?: Partial<Record<TransportName, string>>
  /**
   * The resume point to start from (e.g. saved from an earlier page).
   * @default ''
   */
  lastEventId?: string
  /**
   * The query parameter that carries the resume id where no header can (WebSocket, polling,
   * native EventSource, cross-origin SSE).
   * @default 'lastEventId'
   */
  lastEventIdParam?: string
  /**
   * Send cookies and HTTP auth cross-origin (`credentials: 'include'`, `withCredentials`).
   * @default false
   */
  withCredentials?: boolean
  /**
   * Request headers, or a function returning them, called on every connect and every poll (so a
   * refreshed token is used). Not possible on WebSocket or native EventSource: use `query` there.
   * An `undefined` value is not sent.
   * @default {}
   */
  headers?: Provider<Record<string, string | undefined>>
  /**
   * The HTTP method of the fetch transports. A method other than GET makes the subscription a
   * request: WebSocket (unless a `handshake` carries the request) and the native EventSource,
   * which cannot send one, are left out, and `oneShot` defaults to `true`. With a `body` and no
   * method, POST.
   * @default 'GET'
   */
  method?: string
  /**
   * The request body (a string, `URLSearchParams`, `FormData` or `Blob`), or a function returning
   * one, called on every attempt (a reconnect sends it again, with the resume id as usual). Its
   * content type is the one fetch sets unless `headers` say otherwise.
   */
  body?: Provider<BodyInit | undefined>
  /**
   * The stream is one answer (an LLM completion, a GraphQL operation over SSE): the server ending it
   * ends the subscription (state `closed` with `reason: 'end'`, iterators done) instead of
   * reconnecting. A drop before the end resumes from the last id when the answer carried ids, and
   * otherwise ends with a `cut-off` error. No transport is raced or probed beside it (the request is
   * never sent twice at once); it is never shared, nor paused while the page is hidden.
   * @default method !== 'GET'
   */
  oneShot?: boolean
  /**
   * Query parameters, or a function returning them, called on every connect and every poll.
   * @default {}
   */
  query?: Provider<Record<string, string | undefined>>
  /**
   * How listeners receive `data`: the text as sent, `JSON.parse`d, or your function. A failure
   * skips the event with a `DecodeError` on `'error'`.
   * @default 'text'
   */
  decode?: 'text' | 'json' | Decoder
  /** Aborting this signal closes the subscription. */
  signal?: AbortSignal
  /** Called for every server event, whatever its type. */
  onMessage?: (event: SubwireEvent<any>) => void
  /** Called for every error (also those subwire recovers from). */
  onError?: (error: SubwireError) => void
  /** Called on every state change. */
  onStateChange?: (change: StateChange) => void
  /** Backoff settings, or a function `(attempt, error, { hint, elapsed }) => delay | false`. */
  retry?: RetryOptions | RetryFunction
  /**
   * How the `eventsource` transport connects: fetch streaming (headers possible), the native
   * `EventSource`, or fetch streaming where the browser has it.
   * @default 'auto'
   */
  eventsource?: 'auto' | 'fetch' | 'native'
  /**
   * Milliseconds between short polls (the server's `retry` field overrides it).
   * @default 3000
   */
  pollInterval?: number
  /**
   * Milliseconds a poll may take, body included; keep it above the server's long-poll hold time.
   * @default 60000
   */
  longPollTimeout?: number
  /**
   * Milliseconds a new connection has to prove itself (an event or a heartbeat; a long poll has
   * `longPollTimeout`). One that was accepted but stays silent gets a second opinion first.
   * @default 10000
   */
  connectTimeout?: number
  /**
   * Milliseconds without any bytes after which a stream whose server sends heartbeats is treated
   * as dead and replaced. Applies once the server sent a second heartbeat on the connection, a
   * second or more after it started (a greeting alone, however many comments, is no cadence).
   * 0 turns it off.
   * @default 45000
   */
  heartbeatTimeout?: number
  /**
   * What a connection that was accepted (a WebSocket open, an SSE 200) and stays silent for
   * `connectTimeout` means: `'check'` asks the next transport for a second opinion (it delivers:
   * this one is starved; it is quiet too: keep this one), `'trust'` keeps it (a server quiet by
   * design), `'fallback'` takes it for starved (a server that always greets).
   * @default 'check'
   */
  silent?: 'check' | 'trust' | 'fallback'
  /**
   * Largest event (and line, and frame, and poll body) accepted, in characters.
   * @default 8388608
   */
  maxEventSize?: number
  /**
   * Longest event id accepted, in characters; a longer one is dropped with a `ProtocolError` and
   * the previous one kept (it travels in a URL or a header on every reconnect).
   * @default 4096
   */
  maxIdLength?: number
  /**
   * Events an async iterator may fall behind by before it ends with an `overflow` error.
   * @default 1000
   */
  bufferSize?: number
  /**
   * Milliseconds to remember, per endpoint, the transport that proved itself, so the next page
   * load starts there (localStorage, else memory). 0 turns it off.
   * @default 86400000 (one day)
   */
  rememberFor?: number
  /**
   * Milliseconds on a fallback transport before a better one is tried in the background; once it
   * shows the same events with ids, the subscription moves up to it and resumes from the last id.
   * Doubles after every failed probe or step-down (up to 32×). 0 turns it off.
   * @default 60000
   */
  upgradeAfter?: number
  /**
   * Close the connection while the page is hidden and reconnect (resuming) when it is visible.
   * @default false
   */
  pauseWhenHidden?: boolean
  /**
   * How WebSocket text frames are read. `'auto'`: SSE field syntax when the frame starts with a
   * field (`data:`, `id:`, `event:`, `retry:` or `:`) or continues an unfinished block; an
   * `{id?, event?, data, retry?}` object (or an array of them) as events; any other frame is one
   * `message` event whose data is the frame. `'sse'`: one continuous SSE stream. `'json'`: each
   * frame is JSON. `'text'`: each frame is one `message` event.
   * @default 'auto'
   */
  frames?: 'auto' | 'sse' | 'json' | 'text'
  /** Read each WebSocket frame and polling body in your server's own format (ids, types, cursors). */
  parse?: Parse
  /** WebSocket subprotocols to ask for. */
  protocols?: string | string[]
  /**
   * Messages to send after every WebSocket open (a subscribe request many servers expect), given
   * the resume point.
   */
  handshake?: (info: { lastEventId: string }) => string | string[] | undefined
  /**
   * Event types that are heartbeats: they keep the connection alive and prove it, and are never
   * delivered (e.g. `['ping']`). A block without data, such as nchan's `event: ping`, always is one.
   * @default []
   */
  heartbeatEvents?: string[]
  /**
   * Event types the native `EventSource` listens to for `onMessage` and the async iterator
   * besides `'message'` and those with `on()` listeners: it has no way to receive every type.
   * @default []
   */
  eventTypes?: string[]
  /**
   * Your own say per HTTP status: `'retry'`, `'fallback'`, `'fatal'` or `'empty'` (a poll's
   * "nothing new"), e.g. `{ 410: 'retry' }`.
   * @default {}
   */
  statuses?: Partial<Record<number, StatusAction>>
  /**
   * Redirects of HTTP requests. `'follow'`: every one. `'error'`: none (a typed error).
   * `'same-origin'`: requests carrying your `headers` are never redirected (a browser does not
   * tell where a redirect goes before following it), others follow.
   * @default 'same-origin'
   */
  redirect?: 'follow' | 'same-origin' | 'error'
  /**
   * Share one connection between subscriptions to the same endpoint with the same connection
   * options: `'page'` (in this page), `'auto'` and `'tabs'` (also across this origin's tabs, with
   * the `subwire/tabs` add-on, when every option that reaches the server is plain data or a
   * `shareKey` is set: see docs/sharing.md), `false`.
   * @default 'auto'
   */
  share?: 'auto' | 'page' | 'tabs' | false
  /** Only connections with the same key are shared across tabs, e.g. the signed-in user's id; it vouches for function-valued options. */
  shareKey?: string
  /** Called with a record of every decision subwire takes (attempts, fallbacks, probes, delays). */
  log?: (record: LogRecord) => void
  /**
   * Development build: every decision in the console (`console.debug`), one readable line each,
   * when no `log` is given. The production build ignores it.
   * @default false
   */
  debug?: boolean
  /** Replace browser objects (WebSocket, fetch, timers, clock, randomness), e.g. in tests. */
  env?: Partial<Env>
}

export const DEFAULT_TRANSPORTS: TransportName[] = ['websocket', 'eventsource', 'longpoll', 'poll']

/** The defaults of every option that has one; what `resolveOptions` checks each value against. */
const DEFAULTS = {
  transports: DEFAULT_TRANSPORTS,
  lastEventId: '',
  lastEventIdParam: 'lastEventId',
  withCredentials: false,
  decode: 'text',
  eventsource: 'auto',
  pollInterval: 3000,
  longPollTimeout: 60000,
  connectTimeout: 10000,
  heartbeatTimeout: 45000,
  maxEventSize: 8388608,
  maxIdLength: 4096,
  bufferSize: 1000,
  rememberFor: 86400000,
  upgradeAfter: 60000,
  pauseWhenHidden: false,
  frames: 'auto',
  heartbeatEvents: [] as string[],
  eventTypes: [] as string[],
  redirect: 'same-origin',
  silent: 'check',
  share: 'auto',
  statuses: {} as Partial<Record<number, StatusAction>>,
}

/** The allowed values of each option that takes one of a few. */
const CHOICES: Record<string, readonly unknown[]> = {
  decode: ['text', 'json'],
  eventsource: ['auto', 'fetch', 'native'],
  frames: ['auto', 'sse', 'json', 'text'],
  redirect: ['follow', 'same-origin', 'error'],
  silent: ['check', 'trust', 'fallback'],
  share: ['auto', 'page', 'tabs', false],
  transports: DEFAULT_TRANSPORTS,
  statuses: ['retry', 'fallback', 'fatal', 'empty'],
}

/** Options that must be > 0 (the rest of the numbers may be 0), and those that must be whole numbers. */
const POSITIVE = ['longPollTimeout', 'connectTimeout', 'maxEventSize', 'maxIdLength', 'bufferSize']
const WHOLE = ['maxEventSize', 'maxIdLength', 'bufferSize']
const FUNCTIONS = ['parse', 'handshake', 'log', 'onMessage', 'onError', 'onStateChange']
const BODY_TYPES = ['string', 'object', 'function']

type Options = typeof DEFAULTS & Omit<SubscribeOptions, keyof typeof DEFAULTS>

/** What a connection needs: the options with defaults applied, URLs resolved, checked. */
export interface Resolved extends Readonly<Omit<Options, 'transports' | 'urls' | 'retry' | 'env' | 'decode' | 'method' | 'oneShot'>> {
  readonly env: Env
  /** The HTTP method, upper case. */
  readonly method: string
  readonly oneShot: boolean
  /** The URL of each node (equivalent endpoints), resolved. */
  readonly nodes: readonly string[]
  readonly urls: Partial<Record<TransportName, string>>
  /** The transports that can run here, best first. */
  readonly order: readonly TransportName[]
  /** Where the remembered transport is kept: origin and path of the first node, never the query. */
  readonly endpoint: string
  readonly policy: Policy
  readonly customRetry: RetryFunction | undefined
  readonly decoder: Decoder | undefined
}

function fail(message: string): never {
  throw new SubwireError('config', say('config', message), undefined, false)
}

/** Resolve `url` against the page; explain what to do where there is no page. */
function resolveUrl(url: unknown, base: string | undefined, name: string): string {
  let parsed: URL | undefined
  try {
    parsed = new URL(url as string, base)
  } catch {
    // handled below
  }
  if (typeof url !== 'string' || !parsed || !/^(http|ws)s?:$/.test(parsed.protocol)) {
    throw new SubwireError('config', say('bad-url', name, url, !!base), undefined, false)
  }
  // An https: page may not reach plain http:/ws: (but for loopback): the browser blocks it as
  // mixed content, which would look like a network or CORS failure on every attempt.
  if (/^https:/.test(base!) && /^(http|ws):$/.test(parsed.protocol) && !/^(localhost|127\.0\.0\.1|\[::1\])$|\.localhost$/.test(parsed.hostname)) {
    throw new SubwireError('config', say('mixed-content', name, parsed.href), undefined, false)
  }
  return parsed.href
}

/**
 * Development build: each option checked against its default (type, range, allowed values) and
 * the URLs, a `config` error naming the fix. The production build takes the options as they come
 * (numbers are still bounded to what a timer can wait).
 */
function check(options: SubscribeOptions, o: Record<string, unknown>): void {
  for (const key in DEFAULTS) {
    const value = (options as Record<string, unknown>)[key]
    if (value == null) continue
    const fallback = DEFAULTS[key as keyof typeof DEFAULTS]
    const choices = CHOICES[key]
    const ok = Array.isArray(fallback)
      ? Array.isArray(value) && value.every((v) => (choices ? choices.includes(v) : typeof v === 'string')) && (!choices || value.length > 0)
      : choices && key !== 'statuses'
        ? choices.includes(value) || (key === 'decode' && typeof value === 'function')
        : typeof fallback === 'number'
          ? typeof value === 'number' && value >= +POSITIVE.includes(key) && (!WHOLE.includes(key) || Number.isInteger(value))
          : typeof value === typeof fallback
    if (!ok) fail(`${key} must be ${choices ? `${Array.isArray(fallback) ? 'a list of ' : 'one of '}${choices.join(', ')}` : typeof fallback === 'number' ? `a number ≥ ${+POSITIVE.includes(key)}` : `a ${Array.isArray(fallback) ? 'list of strings' : typeof fallback}`}, got ${String(value)}`)
  }
  for (const key of FUNCTIONS) if (o[key] != null && typeof o[key] !== 'function') fail(`${key} must be a function`)
  if (options.method != null && !/^[!#$%&'*+.^_`|~\w-]+$/.test(options.method)) fail(`method must be an HTTP method such as 'POST', got ${String(options.method)}`)
  if (options.body != null && !BODY_TYPES.includes(typeof options.body)) fail('body must be a string, URLSearchParams, FormData, Blob, or a function returning one')
  if (options.body != null && /^(GET|HEAD)$/i.test(options.method ?? '')) fail(`a ${options.method} request has no body: pass method: 'POST'`)
  if (options.oneShot != null && typeof options.oneShot !== 'boolean') fail('oneShot must be a boolean')
  for (const key of ['headers', 'query', 'retry']) if (o[key] != null && typeof o[key] !== 'function' && typeof o[key] !== 'object') fail(`${key} must be an object or a function`)
  const statuses = (options.statuses ?? {}) as Record<string, unknown>
  for (const status in statuses) {
    if (!(+status >= 100 && +status < 600) || !(statuses[status] === undefined || CHOICES.statuses!.includes(statuses[status]))) fail(`statuses must map HTTP statuses to ${CHOICES.statuses}`)
  }
  for (const key in options.urls) if (!DEFAULT_TRANSPORTS.includes(key as TransportName)) fail(`urls.${key} is not a transport`)
  const { lastEventId, maxIdLength } = o as { lastEventId: string; maxIdLength: number }
  if (/[\0\r\n]/.test(lastEventId) || lastEventId.length > maxIdLength) fail('lastEventId must hold no NUL, CR or LF, and be at most maxIdLength long')
  const retry = (typeof options.retry === 'object' && options.retry) || {}
  for (const key in policyOf()) {
    // factor ≥ 1; the others ≥ 0 (maxAttempts and maxElapsed may be Infinity)
    const value = (retry as Record<string, unknown>)[key]
    if (value != null && !(typeof value === 'number' && value >= +(key === 'factor'))) fail(`retry.${key} must be a number ≥ ${+(key === 'factor')}, got ${String(value)}`)
  }
}

/** Development: `debug: true`, a log record as one console line. */
function readably(r: LogRecord): void {
  console.debug(`subwire: ${r.type}${r.transport ? ` ${r.transport}` : ''}${r.remembered ? ' (the transport remembered for this endpoint)' : ''}${r.delay !== undefined ? ` in ${r.delay} ms` : ''}${r.waitingFor ? ` until ${r.waitingFor}` : ''}${r.shared ? ` as ${r.shared}` : ''}${r.error ? `: ${r.error.message}` : ''}`)
}

/** A number option as given, bounded to what a timer can wait; its default when it is not a usable number. */
const num = (value: unknown, fallback: number, least = 0) => (typeof value === 'number' && value >= least ? Math.min(value, MAX_TIMER) : fallback)

export function resolveOptions(url: string | string[], options: SubscribeOptions, implementations: Partial<Record<TransportName, Transport>>): Resolved {
  const env = resolveEnv(options.env ?? undefined)
  const o: Record<string, unknown> = { ...options }
  // `null` and `undefined` alike mean "the default".
  for (const key in DEFAULTS) {
    const fallback = DEFAULTS[key as keyof typeof DEFAULTS]
    o[key] = typeof fallback === 'number' ? num(o[key], fallback, +POSITIVE.includes(key)) : (o[key] ?? fallback)
  }
  if (__DEV__) {
    check(options, o)
    if (options.debug && !options.log) o.log = readably
  }
  // An id that cannot travel in a header or a URL is no resume point.
  else if (/[\0\r\n]/.test(o.lastEventId as string)) o.lastEventId = ''
  // The eventsource transport of `subwire/core` that is the native EventSource only.
  if (implementations.eventsource?.native) o.eventsource = 'native'
  const statuses: Record<string, unknown> = (o.statuses = {})
  for (const status in options.statuses) if (options.statuses[+status] != null) statuses[status] = options.statuses[+status]
  const resolved = o as unknown as Options & { nodes: string[]; urls: Record<string, string> }
  const nodes = (resolved.nodes = (Array.isArray(url) && url.length ? url : [url]).map((u) => resolveUrl(u, env.location, 'url')))
  const urls: Record<string, string> = (resolved.urls = {})
  for (const key in options.urls) {
    const value = options.urls[key as TransportName]
    if (value != null) urls[key] = resolveUrl(value, env.location, `urls.${key}`)
  }
  const method = (resolved.method = (options.method ?? (options.body != null ? 'POST' : 'GET')).toUpperCase())
  const request = method !== 'GET'
  const oneShot = (resolved.oneShot = options.oneShot ?? request)
  // A request is never sent twice at once (no race, no probe) and is no one else's answer.
  if (oneShot) Object.assign(resolved, { silent: 'trust', upgradeAfter: 0, share: false, pauseWhenHidden: false })
  const { eventsource, transports, retry } = resolved
  // A ws(s): URL names a WebSocket endpoint: the HTTP transports cannot use it.
  const wsOnly = (name: TransportName) => name !== 'websocket' && /^ws/.test(urls[name] ?? nodes[0]!)
  const wrong = __DEV__ && options.transports && transports.find(wsOnly)
  if (wrong) fail(`the ${wrong} transport needs an http(s): URL: pass one (the WebSocket URL is derived from it), or urls: { ${wrong}: 'https://…' }`)
  const given = (typeof retry === 'object' && retry) || {}
  const policy = policyOf()
  for (const key in policy) {
    const value = (given as Record<string, unknown>)[key]
    policy[key as keyof Policy] = key === 'maxAttempts' || key === 'maxElapsed' ? (typeof value === 'number' && value >= 0 ? value : Infinity) : num(value, policy[key as keyof Policy], +(key === 'factor'))
  }
  const first = new URL(nodes[0]!)
  const native = eventsource !== 'fetch' && (eventsource === 'native' || !env.fetch)
  const runs = (name: TransportName) => implementations[name] && !wsOnly(name) && (name === 'websocket' ? env.WebSocket : name === 'eventsource' && native ? env.EventSource : env.fetch)
  // A request needs a transport that can send it: fetch, or a WebSocket whose handshake carries it.
  const carries = (name: TransportName) => !request || (name === 'websocket' ? !!options.handshake : name !== 'eventsource' || !native)
  const order = [...new Set(transports)].filter(runs)
  if (request && order.length && !order.some(carries)) fail(__DEV__ ? `a ${method} request cannot go over ${order.join(', ')}: pass transports that can send it (eventsource over fetch, longpoll, poll, or websocket with a handshake)` : 'transports')
  return {
    ...(resolved as Omit<Resolved, 'env' | 'order' | 'endpoint' | 'policy' | 'customRetry' | 'decoder'>),
    env,
    order: order.filter(carries),
    endpoint: first.origin + first.pathname,
    policy,
    customRetry: typeof retry === 'function' ? retry : undefined,
    decoder: options.decode === 'json' ? (data) => JSON.parse(data) : typeof options.decode === 'function' ? options.decode : undefined,
  }
}
