import { describe, expect, it } from 'vitest'
import { createParser, ParseError, type EventSourceMessage } from '../../src/parser'
import { ev, fixtures, type Expected } from '../fixtures/sse'

interface Outcome {
  events: EventSourceMessage[]
  retries: number[]
  comments: string[]
  idMoves: string[]
  errors: ParseError[]
  lastEventId: string
}

function run(chunks: Array<string | Uint8Array>, maxEventSize?: number): Outcome {
  const out: Outcome = { events: [], retries: [], comments: [], idMoves: [], errors: [], lastEventId: '' }
  const parser = createParser({
    onEvent: (e) => out.events.push(e),
    onRetry: (ms) => out.retries.push(ms),
    onComment: (text) => out.comments.push(text),
    onLastEventId: (id) => out.idMoves.push(id),
    onError: (error) => out.errors.push(error),
    ...(maxEventSize === undefined ? {} : { maxEventSize }),
  })
  for (const chunk of chunks) parser.feed(chunk)
  parser.end()
  out.lastEventId = parser.lastEventId
  return out
}

const encoder = new TextEncoder()

/** A small deterministic PRNG, so a failing random split can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomSplit<T extends string | Uint8Array>(input: T, random: () => number): T[] {
  const parts: T[] = []
  let pos = 0
  while (pos < input.length) {
    const size = 1 + Math.floor(random() * 7)
    parts.push(input.slice(pos, pos + size) as T)
    pos += size
  }
  return parts
}

/** Every way the tests feed one input: whole, split at every index, byte by byte, at random. */
function everyChunking(input: string): Array<[string, Array<string | Uint8Array>]> {
  const bytes = encoder.encode(input)
  const ways: Array<[string, Array<string | Uint8Array>]> = [
    ['whole string', [input]],
    ['whole bytes', [bytes]],
    ['one char at a time', [...input]],
    ['one byte at a time', Array.from(bytes, (b) => Uint8Array.of(b))],
  ]
  for (let i = 1; i < input.length; i++) ways.push([`string split at ${i}`, [input.slice(0, i), input.slice(i)]])
  for (let i = 1; i < bytes.length; i++) ways.push([`bytes split at ${i}`, [bytes.slice(0, i), bytes.slice(i)]])
  const random = rng(input.length)
  for (let k = 0; k < 10; k++) {
    ways.push([`random string split #${k}`, randomSplit(input, random)])
    ways.push([`random bytes split #${k}`, randomSplit(bytes, random)])
  }
  return ways
}

const lineEnds: Array<[string, string]> = [
  ['LF', '\n'],
  ['CR', '\r'],
  ['CRLF', '\r\n'],
]

describe('createParser', () => {
  for (const fixture of fixtures) {
    const variants = fixture.exactLineEnds ? [['as written', '\n'] as [string, string]] : lineEnds
    describe(fixture.name, () => {
      it.each(variants)('with %s line ends, under every chunking', (_label, eol) => {
        const input = fixture.exactLineEnds ? fixture.input : fixture.input.replace(/\n/g, eol)
        for (const [how, chunks] of everyChunking(input)) {
          const got = run(chunks)
          const expected = { events: [], retries: [], comments: [], idMoves: [], lastEventId: '', ...fixture.expected }
          for (const key of Object.keys(fixture.expected) as Array<keyof Expected>) {
            expect(got[key], `${how}: ${key}`).toEqual(expected[key])
          }
          expect(got.errors, how).toEqual([])
        }
      })
    })
  }

  it('replaces invalid UTF-8 with U+FFFD, wherever the bytes are split', () => {
    const bytes = Uint8Array.of(...encoder.encode('data: a'), 0xff, 0xc3, ...encoder.encode('b\n\n'))
    for (let i = 0; i <= bytes.length; i++) {
      const got = run([bytes.slice(0, i), bytes.slice(i)])
      expect(got.events, `split at ${i}`).toEqual([ev('a\uFFFD\uFFFDb')])
    }
  })

  it('replaces a truncated multi-byte sequence at the end of a line with U+FFFD', () => {
    const got = run([Uint8Array.of(...encoder.encode('data: '), 0xe4, 0xb8, 10, 10)])
    expect(got.events).toEqual([ev('\uFFFD')])
  })

  it('strips a BOM sent as bytes, even when split across chunks', () => {
    const got = run([Uint8Array.of(0xef), Uint8Array.of(0xbb, 0xbf), encoder.encode('data: x\n\n')])
    expect(got.events).toEqual([ev('x')])
  })

  it('stops at once when a callback resets the parser mid-chunk', () => {
    const seen: string[] = []
    const parser = createParser({
      onEvent(e) {
        seen.push(e.data)
        if (e.data === '2') parser.reset()
      },
    })
    parser.feed('data: 1\n\ndata: 2\n\ndata: 3\n\n')
    expect(seen).toEqual(['1', '2'])
    parser.feed('data: 4\n\n')
    expect(seen).toEqual(['1', '2', '4'])
  })

  it('reset() drops partial state and sets the last event id', () => {
    const got: EventSourceMessage[] = []
    const parser = createParser({ onEvent: (e) => got.push(e) })
    parser.feed('id: 1\ndata: partial\n')
    parser.reset('42')
    expect(parser.lastEventId).toBe('42')
    parser.feed('data: fresh\n\n')
    expect(got).toEqual([ev('fresh', { lastEventId: '42' })])
  })

  it('end() keeps the last event id for the next connection but drops the unfinished block, its id included', () => {
    const got: EventSourceMessage[] = []
    const parser = createParser({ onEvent: (e) => got.push(e) })
    parser.feed('id: 9\ndata: a\n\nid: 10\ndata: b\n')
    // Before the block ends, its id is only in the buffer: the value to resume from is still 9.
    expect(parser.lastEventId).toBe('9')
    parser.end()
    parser.feed('data: c\n\n')
    expect(got.map((e) => [e.data, e.lastEventId])).toEqual([
      ['a', '9'],
      ['c', '9'],
    ])
    // Event 10 was never dispatched: resuming from 10 would lose it.
    expect(parser.lastEventId).toBe('9')
  })

  it('reports blocks without data and without an id through onEmptyBlock (keepalives)', () => {
    const empty: string[] = []
    const moved: string[] = []
    const parser = createParser({ onEvent: () => {}, onEmptyBlock: (type) => empty.push(type), onLastEventId: (id) => moved.push(id) })
    parser.feed(': ping\n\nevent: ping\n\nid: 3\n\ndata: x\n\n\n')
    expect(empty).toEqual(['', 'ping', ''])
    expect(moved).toEqual(['3'])
  })

  describe('maxEventSize', () => {
    it('drops an over-size event with a typed error and goes on with the next one', () => {
      const big = 'x'.repeat(100)
      const input = `data: before\n\nid: 2\ndata: ${big}\ndata: more\n\ndata: after\n\n`
      for (const [how, chunks] of everyChunking(input).slice(0, 40)) {
        const got = run(chunks, 50)
        expect(got.events.map((e) => e.data), how).toEqual(['before', 'after'])
        expect(got.errors, how).toHaveLength(1)
        expect(got.errors[0]).toBeInstanceOf(ParseError)
        expect(got.errors[0]?.name).toBe('ParseError')
        expect(got.errors[0]?.type).toBe('max-size')
        expect(got.idMoves, how).toEqual(['2'])
      }
    })

    it('bounds a single huge line that never ends before the limit', () => {
      const errors: ParseError[] = []
      const events: string[] = []
      const p2 = createParser({ onEvent: (e) => events.push(e.data), onError: (e) => errors.push(e), maxEventSize: 1024 })
      p2.feed(': ')
      for (let i = 0; i < 1000; i++) p2.feed('y'.repeat(1000))
      // The rest of the huge line, then the same block's data (dropped with it), then a new block.
      p2.feed('\ndata: same block\n\ndata: ok\n\n')
      expect(errors).toHaveLength(1)
      expect(events).toEqual(['ok'])
    })

    it('counts joined data lines, not just one line', () => {
      const lines = Array.from({ length: 20 }, () => 'data: 0123456789').join('\n')
      const got = run([`${lines}\n\ndata: small\n\n`], 100)
      expect(got.events.map((e) => e.data)).toEqual(['small'])
      expect(got.errors).toHaveLength(1)
    })
  })

  it('decodes any bytes, split anywhere, exactly as one whole-stream UTF-8 decode does', () => {
    // Valid and invalid sequences, truncated ones, BOMs and line ends, in random order and chunks.
    const random = rng(99)
    const pieces = [
      [0x64, 0x61, 0x74, 0x61, 0x3a, 0x20], [10], [10, 10], [13], [13, 10], [0x78], [0xc3, 0xa9], [0xe2, 0x82, 0xac],
      [0xf0, 0x9f, 0x8e, 0x89], [0xef, 0xbb, 0xbf], [0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f], [0x80], [0xe0, 0x80],
      [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf],
    ]
    for (let round = 0; round < 400; round++) {
      const bytes: number[] = []
      const count = 3 + Math.floor(random() * 40)
      for (let k = 0; k < count; k++) bytes.push(...pieces[Math.floor(random() * pieces.length)]!)
      const input = Uint8Array.from(bytes)
      const reference = run([new TextDecoder('utf-8', { ignoreBOM: true }).decode(input)])
      expect(run(randomSplit(input, random)), `round ${round}`).toEqual(reference)
      expect(run(Array.from(input, (b) => Uint8Array.of(b))), `round ${round}, byte by byte`).toEqual(reference)
    }
  })

  it('never throws on random bytes, and chunking never changes the result', () => {
    const random = rng(1234)
    const alphabet = ['data', 'event', 'id', 'retry', ':', ' ', '\n', '\r', '\r\n', 'x', 'é', '🎉', '\u0000', '7', 'data: ', '\n\n']
    for (let round = 0; round < 300; round++) {
      let input = ''
      const pieces = 5 + Math.floor(random() * 60)
      for (let k = 0; k < pieces; k++) input += alphabet[Math.floor(random() * alphabet.length)]
      const whole = run([input])
      const bytes = encoder.encode(input)
      expect(run(randomSplit(input, random))).toEqual(whole)
      expect(run(randomSplit(bytes, random))).toEqual(whole)
      const noise = Uint8Array.from({ length: 64 }, () => Math.floor(random() * 256))
      expect(() => run([noise, bytes])).not.toThrow()
    }
  })
})
