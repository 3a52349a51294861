// A stream that is a request, in Chromium against a real server: an LLM-style endpoint that
// streams the answer to a POST token by token and ends. Read once, to its end, through
// subscribe() and through the async iterator; a cut answer resumes by id or ends with cut-off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Browser } from 'playwright-core'
import { launchBrowser, openPage, startServer, type TestServer } from './harness'

const WORDS = 'Rayleigh scattering sends the short blue wavelengths of sunlight across the whole sky, so it looks blue from everywhere.'.split(/(?= )/)

let browser: Browser
let server: TestServer & { handlers: { http?: unknown } }
const requests: Array<{ method: string; body: string; lastEventId: string | undefined }> = []

/** POST /answer: `{prompt}` in, one `{delta}` event per word, 20 ms apart, then the end. `?cut=N`: the first request breaks after N words; `?ids=0`: events without ids. */
async function answer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  if (url.pathname !== '/answer') return false
  let body = ''
  for await (const chunk of req) body += chunk
  const lastEventId = req.headers['last-event-id'] as string | undefined
  requests.push({ method: req.method!, body, lastEventId })
  if (req.method !== 'POST' || !JSON.parse(body).prompt) return void res.writeHead(400).end(), true
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
  const ids = url.searchParams.get('ids') !== '0'
  const cut = requests.filter((r) => r.body === body).length === 1 ? Number(url.searchParams.get('cut') ?? Infinity) : Infinity
  for (let i = Number(lastEventId ?? 0); i < WORDS.length; i++) {
    if (i === cut) return void res.destroy(), true
    res.write(`${ids ? `id: ${i + 1}\n` : ''}data: ${JSON.stringify({ delta: WORDS[i] })}\n\n`)
    await new Promise((r) => setTimeout(r, 20))
  }
  res.end()
  return true
}

beforeAll(async () => {
  browser = await launchBrowser()
  server = (await startServer({ handlers: { http: answer } })) as typeof server
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
})

type Read = { text: string; states: string[]; errors: string[]; error?: string }

async function read(path: string, prompt: string, iterate: boolean): Promise<Read> {
  const { page, errors } = await openPage(browser, `${server.origin}/test/browser/pages/blank.html`)
  const got = await page.evaluate(
    async ({ path, prompt, iterate }) => {
      const { subscribe } = (window as unknown as { Subwire: typeof import('../../src/index') }).Subwire
      const out: Read = { text: '', states: [], errors: [] }
      const sub = subscribe<{ message: { delta: string } }>(path, {
        body: JSON.stringify({ prompt }),
        headers: { 'content-type': 'application/json' },
        decode: 'json',
        retry: { initialDelay: 50 },
      })
      sub.on('state', (s) => out.states.push(`${s.state}:${s.reason ?? ''}`))
      sub.on('error', (e) => out.errors.push(e.code))
      try {
        if (iterate) for await (const token of sub) out.text += token.data.delta
        else {
          sub.on('message', (e) => (out.text += e.data.delta))
          await new Promise<void>((resolve) => sub.on('state', (s) => s.state === 'closed' && resolve()))
        }
      } catch (e) {
        out.error = (e as { code: string }).code
      }
      return out
    },
    { path, prompt, iterate },
  )
  await new Promise((r) => setTimeout(r, 300))
  expect(errors).toEqual([])
  await page.close()
  return got
}

const of = (prompt: string) => requests.filter((r) => r.body === JSON.stringify({ prompt }))

describe('a POST answer in Chromium', () => {
  it.each([
    ['subscribe() and listeners', false],
    ['the async iterator', true],
  ])('is read once, to its end, through %s; no request after it', async (_how, iterate) => {
    const prompt = `why blue (${iterate})`
    const got = await read('/answer', prompt, iterate)
    expect(got.text, JSON.stringify({ got, requests: of(prompt) })).toBe(WORDS.join(''))
    expect(got.states.at(-1)).toBe('closed:end')
    expect(got.errors).toEqual([])
    expect(of(prompt).map((r) => r.method)).toEqual(['POST'])
  })

  it('cut after five words, with ids: sent again with Last-Event-ID, the answer completed once', async () => {
    const got = await read('/answer?cut=5', 'cut with ids', true)
    expect(got.text).toBe(WORDS.join(''))
    expect(of('cut with ids').map((r) => r.lastEventId)).toEqual([undefined, '5'])
  })

  it('cut after five words, without ids: the iterator throws cut-off after the five, nothing sent again', async () => {
    const got = await read('/answer?cut=5&ids=0', 'cut without ids', true)
    expect(got.text).toBe(WORDS.slice(0, 5).join(''))
    expect(got.error).toBe('cut-off')
    expect(got.states.at(-1)).toBe('closed:error')
    expect(of('cut without ids')).toHaveLength(1)
  })
})
