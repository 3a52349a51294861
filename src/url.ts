// Pure URL helpers: add query parameters, switch to ws(s):, compare origins.

/** Add `params` (undefined values skipped) to `url`. */
export function withParams(url: URL | string, params: Record<string, string | undefined>): string {
  const out = new URL(url)
  for (const key in params) {
    const value = params[key]
    if (value !== undefined) out.searchParams.set(key, value)
  }
  return out.href
}

/** `http:` → `ws:`, `https:` → `wss:`; `ws:`/`wss:` stay. */
export function toWebSocketUrl(url: string): string {
  return url.replace(/^http(s?):/, 'ws$1:')
}

export function isSameOrigin(url: string, page: string | undefined): boolean {
  try {
    return !!page && new URL(url).origin === new URL(page).origin
  } catch {
    return false
  }
}
