import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeTarget, ioredisOptions, redisPersistenceOptionsSchema } from '../src/index.js'

describe('persistence-redis options', () => {
  it('applies defaults', () => {
    const o = redisPersistenceOptionsSchema.parse({})
    assert.equal(o.keyPrefix, 'embedmq:')
    assert.equal(o.refuseClientsWhileDown, true)
    assert.equal(o.maxRetriesPerRequest, 20)
    assert.equal(describeTarget(o), 'redis://127.0.0.1:6379')
  })

  it('refuses unknown keys, glob characters in the prefix, a non-redis url, and sentinel mixed with host', () => {
    const problems = (input: unknown): string[] => {
      const r = redisPersistenceOptionsSchema.safeParse(input)
      return r.success ? [] : r.error.issues.map(i => `${i.path.join('.')}: ${i.message}`)
    }
    assert.match(problems({ prefix: 'x' }).join(), /prefix/)
    assert.match(problems({ keyPrefix: 'a*' }).join(), /keyPrefix: may only contain/)
    assert.match(problems({ url: 'http://x' }).join(), /url: must start with redis:\/\//)
    assert.match(problems({ host: 'h', sentinel: { name: 'm', sentinels: [{ host: 's', port: 26379 }] } }).join(), /either sentinel or url/)
  })

  it('passes connection options through to ioredis, reading TLS files from the config folder, and never logs the password', () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedmq-redis-tls-'))
    try {
      writeFileSync(join(dir, 'ca.pem'), 'CA')
      const o = redisPersistenceOptionsSchema.parse({
        url: 'rediss://user:secret@redis.internal:6380/2', port: 7000, db: 3, password: 'pw', tls: { caFile: 'ca.pem', servername: 'redis.internal' }
      })
      const io = ioredisOptions(o, p => join(dir, p))
      assert.equal(io.port, 7000)
      assert.equal(io.db, 3)
      assert.equal(io.password, 'pw')
      assert.equal(String((io.tls as { ca: Buffer }).ca), 'CA')
      assert.equal((io.tls as { servername: string }).servername, 'redis.internal')
      assert.equal(io.maxRetriesPerRequest, 20)
      assert.equal(describeTarget(o), 'rediss://redis.internal:7000')
      assert.doesNotMatch(describeTarget(o), /secret|pw/)

      const s = ioredisOptions(redisPersistenceOptionsSchema.parse({ sentinel: { name: 'mymaster', sentinels: [{ host: '10.0.0.1', port: 26379 }], sentinelPassword: 'sp' } }), p => p)
      assert.equal(s.name, 'mymaster')
      assert.deepEqual(s.sentinels, [{ host: '10.0.0.1', port: 26379 }])
      assert.equal(s.sentinelPassword, 'sp')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
