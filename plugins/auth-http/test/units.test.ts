import assert from 'node:assert/strict'
import { MemoryLogger } from '@embedmq/core'
import { Gate } from '../src/gate.js'
import { isLoopbackUrl } from '../src/loopback.js'
import { RateLimitedLog } from '../src/rate-limited-log.js'
import { classifyStatus, parseDecision } from '../src/reply.js'
import { TtlCache } from '../src/ttl-cache.js'

describe('auth-http building blocks', () => {
  it('TtlCache: fresh, then stale within its grace, then gone; LRU bound', () => {
    let now = 1000
    const cache = new TtlCache<string>(2, () => now)
    cache.set('a', 'A', 100, 100)
    assert.deepEqual(cache.get('a'), { value: 'A', expiresAt: 1100, fresh: true })
    now = 1150
    assert.deepEqual(cache.get('a'), { value: 'A', expiresAt: 1100, fresh: false })
    now = 1200
    assert.equal(cache.get('a'), undefined)
    cache.set('x', 'X', 100)
    cache.set('y', 'Y', 100)
    cache.get('x')
    cache.set('z', 'Z', 100)
    assert.equal(cache.get('y'), undefined, 'least recently used went first')
    assert.equal(cache.get('x')?.value, 'X')
    cache.set('x', 'X2', 0)
    assert.equal(cache.get('x'), undefined, 'a TTL of 0 stores nothing')
  })

  it('Gate: waits for a slot, and gives up when the signal aborts', async () => {
    const gate = new Gate(1)
    const release = await gate.enter(new AbortController().signal)
    const aborted = new AbortController()
    const waiting = gate.enter(aborted.signal)
    aborted.abort(new Error('too slow'))
    await assert.rejects(waiting, /too slow/)
    const next = gate.enter(new AbortController().signal)
    release()
    release()
    const second = await next
    second()
    await gate.enter(new AbortController().signal)
  })

  it('isLoopbackUrl', () => {
    const yes = ['http://localhost/', 'http://127.0.0.1/', 'http://127.255.0.9:80/', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/']
    const no = ['http://10.0.0.1/', 'http://localhost.example/', 'http://[::2]/', 'http://[::ffff:10.0.0.1]/', 'http://128.0.0.1/', 'http://example.com/']
    for (const u of yes) assert.ok(isLoopbackUrl(new URL(u)), u)
    for (const u of no) assert.ok(!isLoopbackUrl(new URL(u)), u)
  })

  it('RateLimitedLog: one line per interval, counting what it left out', () => {
    let now = 0
    const logs = new MemoryLogger()
    const limited = new RateLimitedLog(logs, 1000, () => now)
    for (let i = 0; i < 5; i++) limited.error('k', {}, 'down')
    now = 1000
    limited.error('k', {}, 'down')
    assert.deepEqual(logs.entries.map(e => e.msg), ['down', 'down (4 more since the last line were not logged)'])
    assert.equal(logs.entries[1]!.fields.suppressed, 4)
  })

  it('classifies statuses and bodies per the documented contract', () => {
    assert.equal(classifyStatus(200), undefined)
    assert.deepEqual(classifyStatus(401), { kind: 'decision', decision: { result: 'deny', returnCode: 4, source: 'HTTP 401' } })
    assert.deepEqual(classifyStatus(404), { kind: 'decision', decision: { result: 'deny', returnCode: 5, source: 'HTTP 404' } })
    for (const s of [408, 429, 500, 503]) assert.equal(classifyStatus(s)?.kind, 'failure', String(s))
    for (const s of [204, 301, 304]) assert.equal(classifyStatus(s)?.kind, 'malformed', String(s))
    assert.deepEqual(parseDecision('{"result":"allow","extra":1,"read":["a/#"]}'), { kind: 'decision', decision: { result: 'allow', read: ['a/#'], source: 'body' } })
    assert.equal(parseDecision('{"result":"deny","returnCode":4}').kind, 'decision')
    assert.equal(parseDecision('{"result":"deny","returnCode":0}').kind, 'malformed')
    assert.equal(parseDecision('[]').kind, 'malformed')
    assert.equal(parseDecision('').kind, 'malformed')
  })
})
