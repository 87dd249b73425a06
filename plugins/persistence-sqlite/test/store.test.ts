import { strict as assert } from 'node:assert'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import Database from 'better-sqlite3'
import { MemoryLogger } from '@embedmq/core'
import { SCHEMA_VERSION, SqlitePersistence, SqlitePersistenceError, type SqlitePersistenceOptions } from '../src/index.js'
import { createFilterSet } from '../src/qlobber.js'
import { prefixRange } from '../src/topic.js'
import { tempDirs } from './support.js'

async function list (stream: Readable): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = []
  for await (const item of stream) out.push(item as Record<string, unknown>)
  return out
}

function publish (topic: string, payload: string, extra: Record<string, unknown> = {}): Record<string, unknown> & { topic: string } {
  return { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, ...extra }
}

describe('SqlitePersistence', () => {
  const temp = tempDirs()
  const stores: SqlitePersistence[] = []
  let file: string

  async function open (options: Partial<SqlitePersistenceOptions> = {}): Promise<SqlitePersistence> {
    const store = new SqlitePersistence({ file, ...options })
    await store.setup({ id: 'broker-1' })
    stores.push(store)
    return store
  }

  beforeEach(async () => { file = join(await temp.make(), 'store.db') })
  afterEach(async () => { await Promise.all(stores.splice(0).map(s => s.destroy())) })
  after(() => temp.remove())

  describe('prefixRange', () => {
    it('finds the literal levels before the first wildcard', () => {
      assert.deepEqual(prefixRange('a/b'), { exact: 'a/b' })
      assert.deepEqual(prefixRange('#'), {})
      assert.deepEqual(prefixRange('+/x'), {})
      assert.deepEqual(prefixRange('a/+/c'), { from: 'a/', to: 'a0' })
      assert.deepEqual(prefixRange('a/b/#'), { from: 'a/b/', to: 'a/b0', parent: 'a/b' })
      assert.deepEqual(prefixRange('a//#'), { from: 'a//', to: 'a/0', parent: 'a/' })
    })
  })

  describe('retained lookups', () => {
    const topics = ['a', 'a/b', 'a/b/c', 'a/bc', 'a0', 'a/', 'a//x', 'ab/c', 'b/a/b', '$SYS/x', 'é/ü', 'é/ü/v', 'a/b/€', '🙂/a', 'a/🙂']
    const filters = ['#', '+', '+/#', 'a/#', 'a/+', 'a/b/#', 'a/+/c', 'a//#', '+/a/b', 'é/#', 'a/b', 'é/+', '🙂/#', 'a/+/+', 'nothing/#']

    it('return exactly what MQTT matching returns, for every filter', async () => {
      const store = await open()
      for (const topic of topics) await store.storeRetained(publish(topic, topic, { retain: true }))
      for (const filter of filters) {
        const got = (await list(store.createRetainedStream(filter))).map(p => p.topic as string).sort()
        const expected = topics.filter(t => createFilterSet(filter).test(t)).sort()
        assert.deepEqual(got, expected, `filter ${filter}`)
      }
    })

    it('page through more rows than one page holds', async () => {
      const store = await open()
      for (let i = 0; i < 1000; i++) await store.storeRetained(publish(`p/${String(i).padStart(4, '0')}`, 'x', { retain: true }))
      await store.storeRetained(publish('q/1', 'x', { retain: true }))
      assert.equal((await list(store.createRetainedStream('p/+'))).length, 1000)
      assert.equal((await list(store.createRetainedStream('#'))).length, 1001)
    })

    it('keep string payloads and MQTT 5 properties as they were', async () => {
      const store = await open()
      const packet = { cmd: 'publish', topic: 't', payload: 'text', qos: 0, retain: true, properties: { correlationData: Buffer.from([1, 2]), userProperties: { a: 'b' } } }
      await store.storeRetained(packet)
      assert.deepEqual(await list(store.createRetainedStream('t')), [packet])
    })
  })

  describe('restart', () => {
    it('rebuilds the subscription trie from the file', async () => {
      let store = await open()
      await store.addSubscriptions({ id: 'c1' }, [{ topic: 'a/+', qos: 1 }, { topic: 'zero', qos: 0 }])
      await store.addSubscriptions({ id: 'c2' }, [{ topic: 'a/#', qos: 2 }])
      await store.destroy()
      stores.pop()
      store = await open()
      const matched = (await store.subscriptionsByTopic('a/b') as Array<{ clientId: string, qos: number }>).map(s => `${s.clientId}:${s.qos}`).sort()
      assert.deepEqual(matched, ['c1:1', 'c2:2'])
      assert.deepEqual(await store.subscriptionsByTopic('zero'), [], 'QoS 0 subscriptions are restored, never matched')
      assert.deepEqual(await store.countOffline(), { subsCount: 2, clientsCount: 2 })
    })

    it('refuses a file written by a newer schema', async () => {
      const db = new Database(file)
      db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99)')
      db.close()
      assert.throws(() => new SqlitePersistence({ file }), (err: Error) => {
        assert.ok(err instanceof SqlitePersistenceError)
        assert.match(err.message, new RegExp(`schema version 99, newer than this plugin's ${SCHEMA_VERSION}`))
        return true
      })
    })

    it('keeps the file in WAL mode and locked to one store at a time', async () => {
      const store = await open()
      assert.throws(() => new SqlitePersistence({ file, busyTimeoutMs: 50 }), /locked by another process/)
      await store.destroy()
      const db = new Database(file, { readonly: true })
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
      db.close()
    })
  })

  describe('queue limits', () => {
    it('expires queued messages on read, leaving PUBREL state alone', async () => {
      let now = 1_000_000
      const logger = new MemoryLogger()
      const store = await open({ messageExpirySeconds: 10, now: () => now, logger })
      const client = { id: 'c' }
      await store.outgoingEnqueue({ clientId: 'c' }, publish('t', 'old', { brokerId: 'b', brokerCounter: 1 }))
      await store.outgoingEnqueue({ clientId: 'c' }, publish('t', 'rel', { qos: 2, brokerId: 'b', brokerCounter: 2 }))
      await store.outgoingUpdate(client, { ...publish('t', 'rel', { qos: 2, brokerId: 'b', brokerCounter: 2 }), messageId: 7 })
      await store.outgoingUpdate(client, { cmd: 'pubrel', messageId: 7 })
      now += 5_000
      await store.outgoingEnqueue({ clientId: 'c' }, publish('t', 'new', { brokerId: 'b', brokerCounter: 3 }))
      now += 6_000
      const queued = await list(store.outgoingStream(client))
      assert.deepEqual(queued.map(p => p.cmd === 'pubrel' ? 'pubrel' : String(p.payload)), ['pubrel', 'new'])
      assert.equal(logger.find('warn', 'older than messageExpirySeconds').length, 1)
    })

    it('drops the oldest publishes beyond maxQueuedPerClient, per client, and logs each drop', async () => {
      const logger = new MemoryLogger()
      const store = await open({ maxQueuedPerClient: 2, logger })
      for (let i = 1; i <= 4; i++) await store.outgoingEnqueueCombi([{ clientId: 'c' }, { clientId: 'd' }], publish('t', `m${i}`, { brokerId: 'b', brokerCounter: i }))
      for (const id of ['c', 'd']) {
        assert.deepEqual((await list(store.outgoingStream({ id }))).map(p => String(p.payload)), ['m3', 'm4'])
      }
      const warns = logger.find('warn', 'offline queue of client c is full')
      assert.equal(warns.length, 2)
      assert.equal(warns[1]?.fields.droppedTotal, 2)
    })
  })

  it('a stream is a snapshot: messages queued after it started are not in it', async () => {
    const store = await open()
    await store.outgoingEnqueue({ clientId: 'c' }, publish('t', 'one', { brokerId: 'b', brokerCounter: 1 }))
    const stream = store.outgoingStream({ id: 'c' })
    await store.outgoingEnqueue({ clientId: 'c' }, publish('t', 'two', { brokerId: 'b', brokerCounter: 2 }))
    assert.deepEqual((await list(stream)).map(p => String(p.payload)), ['one'])
  })

  it('destroy twice is harmless', async () => {
    const store = await open()
    await store.destroy()
    await store.destroy()
  })
})
