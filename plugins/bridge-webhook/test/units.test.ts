import assert from 'node:assert/strict'
import { backoffDelay, parseRetryAfter, retryDelay } from '../src/backoff.js'
import { encodePayload, signatureProblem, signBody, verifySignature, webhookOptionsSchema } from '../src/index.js'
import { BoundedQueue } from '../src/queue.js'
import { LineLimiter } from '../src/rate-limit.js'

const item = (n: number, size = 1): { n: number, size: number } => ({ n, size })

describe('webhook building blocks', () => {
  describe('signature', () => {
    const secret = 'a-secret-of-sufficient-length'
    const body = Buffer.from('{"events":[{"id":"1"}]}')

    it('verifies its own signature over the exact bytes, and refuses a tampered body or another secret', () => {
      const header = signBody(body, secret)
      assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/)
      assert.equal(verifySignature(body, header, secret), true)
      assert.equal(verifySignature(body.toString(), header, secret), true, 'a string of the same bytes')
      assert.equal(verifySignature(Buffer.from('{"events":[{"id":"2"}]}'), header, secret), false)
      assert.equal(verifySignature(body, header, 'another-secret-entirely'), false)
    })

    it('refuses stale timestamps, missing and malformed headers, each with a reason', () => {
      const now = Math.floor(Date.now() / 1000)
      assert.match(signatureProblem(body, signBody(body, secret, now - 301), secret, 300, now)!, /beyond the tolerance of 300 s/)
      assert.equal(signatureProblem(body, signBody(body, secret, now - 299), secret, 300, now), undefined)
      assert.match(signatureProblem(body, undefined, secret)!, /no X-Embedmq-Signature header/)
      assert.match(signatureProblem(body, 'v1=abc', secret)!, /no valid timestamp/)
      assert.match(signatureProblem(body, `t=${now}`, secret)!, /no v1 signature/)
      assert.equal(verifySignature(body, `t=${now},v1=zz`, secret), false)
    })

    it('accepts any matching v1 entry, for secret rotation', () => {
      const good = signBody(body, secret)
      const t = good.split(',')[0]!
      const v1 = good.split(',')[1]!
      assert.equal(verifySignature(body, `${t},v1=${'0'.repeat(64)},${v1}`, secret), true)
    })
  })

  describe('backoff', () => {
    const policy = { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 1000 }
    it('doubles from initialDelayMs, jittered within the upper half, capped at maxDelayMs', () => {
      assert.deepEqual([1, 2, 3, 4, 5, 6].map(a => backoffDelay(policy, a, () => 0)), [50, 100, 200, 400, 500, 500])
      assert.deepEqual([1, 2, 3, 4, 5, 6].map(a => backoffDelay(policy, a, () => 1)), [100, 200, 400, 800, 1000, 1000])
    })
    it('waits at least as long as Retry-After asks, up to maxDelayMs', () => {
      assert.equal(retryDelay(policy, 1, 700, () => 0), 700)
      assert.equal(retryDelay(policy, 1, 5000, () => 0), 1000)
      assert.equal(retryDelay(policy, 3, 10, () => 0), 200)
    })
    it('reads Retry-After as seconds or an HTTP date', () => {
      const now = Date.parse('2026-01-01T00:00:00Z')
      assert.equal(parseRetryAfter('3', now), 3000)
      assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:02 GMT', now), 2000)
      assert.equal(parseRetryAfter('soon', now), undefined)
      assert.equal(parseRetryAfter(null, now), undefined)
    })
  })

  describe('bounded queue', () => {
    it('drop-oldest makes room by dropping the head', () => {
      const q = new BoundedQueue<{ n: number, size: number }>(3, 1000, 'drop-oldest')
      for (let n = 1; n <= 5; n++) q.push(item(n))
      assert.deepEqual(q.take(10).map(i => i.n), [3, 4, 5])
    })
    it('drop-newest refuses the arriving item', () => {
      const q = new BoundedQueue<{ n: number, size: number }>(3, 1000, 'drop-newest')
      const results = [1, 2, 3, 4, 5].map(n => q.push(item(n)))
      assert.deepEqual(results.map(r => r.dropped), [0, 0, 0, 1, 1])
      assert.equal(results[3]!.reason, 'maxQueue')
      assert.deepEqual(q.take(10).map(i => i.n), [1, 2, 3])
    })
    it('bounds bytes too, and never holds an item larger than the bound', () => {
      const q = new BoundedQueue<{ n: number, size: number }>(100, 10, 'drop-oldest')
      q.push(item(1, 4)); q.push(item(2, 4))
      const r = q.push(item(3, 4))
      assert.deepEqual(r, { dropped: 1, reason: 'maxQueueBytes' })
      assert.deepEqual(q.push(item(4, 11)), { dropped: 1, reason: 'maxQueueBytes' })
      assert.equal(q.bytes, 8)
      assert.deepEqual(q.take(10).map(i => i.n), [2, 3])
    })
    it('takes batches bounded by count and bytes, at least one item each', () => {
      const q = new BoundedQueue<{ n: number, size: number }>(100, 1e9, 'drop-oldest')
      for (const [n, size] of [[1, 4], [2, 4], [3, 4], [4, 20], [5, 1], [6, 1], [7, 1]] as const) q.push(item(n, size))
      const batches: number[][] = []
      while (q.length > 0) batches.push(q.takeBatch(2, 10).map(i => i.n))
      assert.deepEqual(batches, [[1, 2], [3], [4], [5, 6], [7]])
    })

    it('stays FIFO across compaction', () => {
      const q = new BoundedQueue<{ n: number, size: number }>(5000, 1e9, 'drop-oldest')
      const out: number[] = []
      for (let n = 0; n < 4000; n++) {
        q.push(item(n))
        if (n % 3 === 0) out.push(q.shift()!.n)
      }
      out.push(...q.take(5000).map(i => i.n))
      assert.deepEqual(out, Array.from({ length: 4000 }, (_, i) => i))
    })
  })

  describe('log line limiter', () => {
    it('lets one line through per interval and counts the ones held back', () => {
      let now = 0
      const limiter = new LineLimiter(1000, () => now)
      const seen = [0, 10, 20, 999, 1000, 1500, 2500].map(t => { now = t; return limiter.admit() })
      assert.deepEqual(seen, [{ log: true, held: 0 }, { log: false }, { log: false }, { log: false }, { log: true, held: 3 }, { log: false }, { log: true, held: 1 }])
    })
  })

  describe('payload encoding', () => {
    it('writes valid UTF-8 as text, anything else as base64, and base64 when asked', () => {
      assert.deepEqual(encodePayload(Buffer.from('21.5 °C'), 'utf8'), { payload: '21.5 °C', encoding: 'utf8' })
      assert.deepEqual(encodePayload(Buffer.from([0xff, 0x00, 0xfe]), 'utf8'), { payload: '/wD+', encoding: 'base64' })
      assert.deepEqual(encodePayload(Buffer.from('hi'), 'base64'), { payload: 'aGk=', encoding: 'base64' })
    })
  })

  describe('options', () => {
    const problems = (endpoint: Record<string, unknown>): string[] => {
      const r = webhookOptionsSchema.safeParse({ endpoints: { hook: endpoint } })
      return r.success ? [] : r.error.issues.map(i => `${i.path.join('.')}: ${i.message}`)
    }
    const base = { url: 'https://example.com/hook', events: ['message.published'] }

    it('applies documented defaults', () => {
      const r = webhookOptionsSchema.parse({ endpoints: { hook: base } })
      const e = r.endpoints.hook!
      assert.deepEqual({ batch: e.batch, retry: e.retry, timeoutMs: e.timeoutMs, maxQueue: e.maxQueue, overflow: e.overflow, payloadEncoding: e.payloadEncoding },
        { batch: { maxEvents: 100, maxBytes: 1048576, maxWaitMs: 1000 }, retry: { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 30000 }, timeoutMs: 10000, maxQueue: 10000, overflow: 'drop-oldest', payloadEncoding: 'utf8' })
      assert.equal(r.flushTimeoutMs, 5000)
    })

    it('names the field of each mistake', () => {
      assert.deepEqual(problems({ ...base, url: 'not a url' }), ['endpoints.hook.url: "not a url" is not a valid URL'])
      assert.match(problems({ ...base, url: 'ftp://example.com/' })[0]!, /^endpoints\.hook\.url: .*http: or https:/)
      assert.match(problems({ ...base, url: 'https://u:p@example.com/' })[0]!, /^endpoints\.hook\.url: credentials/)
      assert.match(problems({ ...base, events: ['message.publish'] })[0]!, /^endpoints\.hook\.events\.0: /)
      assert.match(problems({ ...base, topics: ['a/#/b'] })[0]!, /^endpoints\.hook\.topics\.0: "a\/#\/b" is not a valid topic filter/)
      assert.match(problems({ url: base.url, events: ['client.connected'], topics: ['a'] })[0]!, /^endpoints\.hook\.topics: topics only select message\.published/)
      assert.match(problems({ ...base, headers: { 'X-Embedmq-Delivery': 'x' } })[0]!, /^endpoints\.hook\.headers\.X-Embedmq-Delivery: .*cannot be replaced/)
      assert.match(problems({ ...base, headers: { 'Bad Name': 'x' } })[0]!, /not a valid header name/)
      assert.match(problems({ ...base, secret: 'short' })[0]!, /^endpoints\.hook\.secret: /)
      assert.match(problems({ ...base, bacth: {} })[0]!, /bacth/)
      assert.match(problems({ ...base, retry: { initialDelayMs: 500, maxDelayMs: 100 } })[0]!, /^endpoints\.hook\.retry\.maxDelayMs: /)
      const none = webhookOptionsSchema.safeParse({ endpoints: {} })
      assert.equal(none.success, false)
    })
  })
})
