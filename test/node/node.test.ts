// subwire in Node 18 (the oldest `engines` allows), 20 (the one running the tests) and 22: the
// built package, in a plain Node process with no DOM, against the reference server — SSE over
// fetch, long polling and polling with Node's own fetch, WebSocket through `env.WebSocket` (the ws
// package) and, on Node 22, the global WebSocket; and a POST answer read to its end. Each process
// must exit by itself once the subscription is closed. Node 18 and 22 come from the npm registry
// (versions.mjs).
import { spawn } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../browser/harness'
// @ts-expect-error -- plain ESM module without declarations
import { nodeBinary } from './versions.mjs'

const script = resolve(__dirname, 'consume.mjs')
let server: TestServer
let publishing: ReturnType<typeof setInterval>

beforeAll(async () => {
  // POST /answer: three events with ids, then the end (an LLM-style answer).
  const answer = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (url.pathname !== '/answer') return false
    for await (const chunk of req) void chunk
    res.writeHead(req.method === 'POST' ? 200 : 405, { 'content-type': 'text/event-stream' })
    for (const [i, word] of ['one', ' two', ' three'].entries()) res.write(`id: ${i + 1}\ndata: ${word}\n\n`)
    res.end()
    return true
  }
  server = await startServer({ handlers: { http: answer } })
  let k = 0
  publishing = setInterval(() => server.publish({ data: `n${++k}` }), 50)
})
afterAll(async () => {
  clearInterval(publishing)
  await server?.close()
})

interface Out {
  events: Array<{ data: string; id?: string; transport: string }>
  errors: string[]
  state: string
}

/** Run a Node script with `args`; resolves with what it printed once it exited (it must, within 20 s). */
function run(node: string, file: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(node, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => {
      child.kill()
      fail(new Error(`${file} ${args.join(' ')} did not exit within 20 s:\n${out}\n${err}`))
    }, 20_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      done({ code, out, err })
    })
  })
}

describe.each([
  [18, false],
  [20, false],
  [22, true],
] as const)('subwire in Node %i', (major, globalWebSocket) => {
  let node: string
  beforeAll(() => {
    node = major === Number(process.versions.node.split('.')[0]) ? process.execPath : (nodeBinary(major) as string)
  }, 120_000)

  it.each([
    ['eventsource', 'fetch'],
    ['longpoll', 'fetch'],
    ['poll', 'fetch'],
    ['websocket', 'ws'],
    ...(globalWebSocket ? [['websocket', 'the global WebSocket']] : []),
  ])('%s over %s: reads events in order, closes, and the process exits by itself', async (transport, how) => {
    const { code, out, err } = await run(node, script, [server.eventsUrl, transport, '5', how === 'ws' ? 'ws' : ''])
    expect(err).toBe('')
    expect(code).toBe(0)
    const got = JSON.parse(out) as Out
    expect(got.events).toHaveLength(5)
    expect(got.events.every((e) => e.transport === transport)).toBe(true)
    const ids = got.events.map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(5)
    expect(got.state).toBe('closed')
  })

  it('a POST answer is read to its end through the iterator; the process exits by itself', async () => {
    const { code, out, err } = await run(node, script, [`${server.origin}/answer`, 'answer'])
    expect(err).toBe('')
    expect(code).toBe(0)
    const got = JSON.parse(out) as Out
    expect(got.events.map((e) => e.data).join('')).toBe('one two three')
    expect(got.errors).toEqual([])
    expect(got.state).toBe('closed')
  })
})
