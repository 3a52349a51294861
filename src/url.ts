// Pure URL helpers: resolve against the page, add query parameters, switch to ws(s):.

/** Resolve `url` against `base` (the page URL), or return it as is when it is already absolute. */
export function resolveUrl(url: string, base: string | undefined): URL {
  return new URL(url, base)
}

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
  if (!page) return false
  try {
    return new URL(url).origin === new URL(page).origin
  } catch {
    return false
  }
}
