import { strict as assert } from 'node:assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, eventually, startTestBroker, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { sqlitePersistence, SqlitePersistenceError } from '../src/index.js'
import { connectRecording, publishAcked, range, tempDirs } from './support.js'

describe('persistence-sqlite with a real broker', function () {
  const temp = tempDirs()
  const brokers: TestBroker[] = []
  const clients: mqtt.MqttClient[] = []
  let file: string

  async function start (options: { maxQueuedPerClient?: number, messageExpirySeconds?: number } = {}): Promise<TestBroker> {
    const tb = await startTestBroker({ allowAnonymous: true, plugins: [sqlitePersistence({ file, ...options })] })
    brokers.push(tb)
    return tb
  }

  async function client (url: string, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
    const c = await connect(url, options)
    clients.push(c)
    return c
  }

  async function recording (url: string, clientId: string): Promise<Awaited<ReturnType<typeof connectRecording>>> {
    const r = await connectRecording(url, { clientId, clean: false })
    clients.push(r.client)
    return r
  }

  beforeEach(async () => { file = join(await temp.make(), 'embedmq.db') })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await Promise.all(brokers.splice(0).map(b => b.stop()))
  })
  after(() => temp.remove())

  it('a persistent session receives the QoS 1 messages published while it was offline, in order', async () => {
    const tb = await start()
    const sub = await client(tb.url('tcp'), { clientId: 'sub-1', clean: false })
    await sub.subscribeAsync('sensors/#', { qos: 1 })
    await sub.endAsync()

    const pub = await client(tb.url('tcp'), { clientId: 'pub-1' })
    await publishAcked(pub, 'sensors/a', range(5))

    const back = await recording(tb.url('tcp'), 'sub-1')
    assert.equal(back.sessionPresent, true)
    await eventually(() => back.received.length >= 5, '5 queued messages')
    assert.deepEqual(back.received.map(m => m.payload), range(5))
  })

  it('QoS 2 messages queued for an offline session arrive exactly once after a restart', async () => {
    let tb = await start()
    const sub = await client(tb.url('tcp'), { clientId: 'sub-7', clean: false })
    await sub.subscribeAsync('q2', { qos: 2 })
    await sub.endAsync()
    const pub = await client(tb.url('tcp'), { clientId: 'pub-7' })
    for (const payload of range(3)) await pub.publishAsync('q2', payload, { qos: 2 })
    await pub.endAsync()
    await tb.stop()

    tb = await start()
    const back = await recording(tb.url('tcp'), 'sub-7')
    await eventually(() => back.received.length >= 3, '3 queued QoS 2 messages')
    await back.client.publishAsync('q2', 'marker', { qos: 2 })
    await eventually(() => back.received.length >= 4, 'the marker')
    assert.deepEqual(back.received.map(m => m.payload), [...range(3), 'marker'])
  })

  it('retained messages survive a broker restart on the same file; an empty payload deletes one', async () => {
    let tb = await start()
    const pub = await client(tb.url('tcp'), { clientId: 'pub-2' })
    await publishAcked(pub, 'state/lamp', ['on'], true)
    await publishAcked(pub, 'state/door', ['open'], true)
    await publishAcked(pub, 'state/door', [''], true)
    await pub.endAsync()
    await tb.stop()

    tb = await start()
    const reader = await connectRecording(tb.url('tcp'), { clientId: 'reader-2' })
    clients.push(reader.client)
    await reader.client.subscribeAsync('state/+', { qos: 1 })
    await eventually(() => reader.received.length >= 1, 'the retained message')
    // A marker published after subscribing arrives after every retained message.
    await publishAcked(reader.client, 'state/marker', ['end'])
    await eventually(() => reader.received.length >= 2, 'the marker')
    assert.deepEqual(reader.received.map(m => `${m.topic}=${m.payload}`).sort(), ['state/lamp=on', 'state/marker=end'])
    assert.deepEqual((await collectRetained(tb, 'state/#')).map(m => m.topic), ['state/lamp'])
  })

  it('subscriptions survive a restart: messages published after it are queued for the offline session', async () => {
    let tb = await start()
    const sub = await client(tb.url('tcp'), { clientId: 'sub-3', clean: false })
    await sub.subscribeAsync(['a/+/c', 'x/#'], { qos: 1 })
    await sub.endAsync()
    await tb.stop()

    tb = await start()
    const pub = await client(tb.url('tcp'), { clientId: 'pub-3' })
    await publishAcked(pub, 'a/b/c', ['one'])
    await publishAcked(pub, 'x/y/z', ['two'])
    await publishAcked(pub, 'other', ['three'])

    const back = await recording(tb.url('tcp'), 'sub-3')
    assert.equal(back.sessionPresent, true)
    await eventually(() => back.received.length >= 2, '2 queued messages')
    await publishAcked(back.client, 'x/marker', ['end'])
    await eventually(() => back.received.length >= 3, 'the marker')
    assert.deepEqual(back.received.map(m => m.payload), ['one', 'two', 'end'])
  })

  it('maxQueuedPerClient: beyond the cap the oldest queued messages are dropped, with a warn line', async () => {
    const tb = await start({ maxQueuedPerClient: 3 })
    const sub = await client(tb.url('tcp'), { clientId: 'sub-4', clean: false })
    await sub.subscribeAsync('q', { qos: 1 })
    await sub.endAsync()
    const pub = await client(tb.url('tcp'), { clientId: 'pub-4' })
    await publishAcked(pub, 'q', range(5))

    const back = await recording(tb.url('tcp'), 'sub-4')
    await eventually(() => back.received.length >= 3, '3 queued messages')
    await publishAcked(pub, 'q', ['live'])
    await eventually(() => back.received.length >= 4, 'the live message')
    assert.deepEqual(back.received.map(m => m.payload), ['m3', 'm4', 'm5', 'live'])
    const warns = tb.logs.entries.filter(e => e.level === 'warn' && e.msg.includes('sub-4') && e.msg.includes('maxQueuedPerClient'))
    assert.equal(warns.length, 2, 'one warn line per dropped message')
  })

  it('messageExpirySeconds: queued messages older than it are dropped and logged', async () => {
    const tb = await start({ messageExpirySeconds: 1 })
    const sub = await client(tb.url('tcp'), { clientId: 'sub-5', clean: false })
    await sub.subscribeAsync('e', { qos: 1 })
    await sub.endAsync()
    const pub = await client(tb.url('tcp'), { clientId: 'pub-5' })
    await publishAcked(pub, 'e', range(2))
    await eventually(() => tb.logs.entries.some(e => e.level === 'warn' && e.msg.includes('older than messageExpirySeconds')),
      'the expiry sweep', 10_000)

    const back = await recording(tb.url('tcp'), 'sub-5')
    await publishAcked(pub, 'e', ['fresh'])
    await eventually(() => back.received.length >= 1, 'the fresh message')
    assert.deepEqual(back.received.map(m => m.payload), ['fresh'])
  })

  it('a corrupt database file fails the start with an error naming the file', async () => {
    await writeFile(file, Buffer.alloc(8192, 'this is not sqlite '))
    await assert.rejects(startTestBroker({ allowAnonymous: true, plugins: [sqlitePersistence({ file })] }), (err: Error) => {
      const cause = err instanceof SqlitePersistenceError ? err : err.cause
      assert.ok(cause instanceof SqlitePersistenceError, `expected a SqlitePersistenceError, got ${String(err)}`)
      assert.equal(cause.file, file)
      assert.match(cause.message, /not a database/)
      assert.ok(cause.message.includes(file))
      return true
    })
  })

  it('a file in a missing folder fails the start with an error naming the file', async () => {
    const missing = join(file, 'nope', 'embedmq.db')
    await assert.rejects(startTestBroker({ allowAnonymous: true, plugins: [sqlitePersistence({ file: missing })] }), (err: Error) => {
      const cause = err instanceof SqlitePersistenceError ? err : err.cause
      assert.ok(cause instanceof SqlitePersistenceError, `expected a SqlitePersistenceError, got ${String(err)}`)
      assert.ok(cause.message.includes(missing))
      return true
    })
  })

  it('a second broker on the same file fails to start, naming the lock; the first keeps working', async () => {
    const tb = await start()
    await assert.rejects(startTestBroker({ allowAnonymous: true, plugins: [sqlitePersistence({ file, busyTimeoutMs: 100 })] }), (err: Error) => {
      const cause = err instanceof SqlitePersistenceError ? err : err.cause
      assert.ok(cause instanceof SqlitePersistenceError, `expected a SqlitePersistenceError, got ${String(err)}`)
      assert.match(cause.message, /locked by another process/)
      return true
    })
    const pub = await client(tb.url('tcp'), { clientId: 'pub-6' })
    await publishAcked(pub, 'still/works', ['yes'], true)
    assert.deepEqual((await collectRetained(tb, 'still/#')).map(m => m.topic), ['still/works'])
  })

  it('refuses bad options with a clear error', async () => {
    await assert.rejects(startTestBroker({ allowAnonymous: true, plugins: [sqlitePersistence({ file, maxQueuedPerClient: -1 })] }),
      /maxQueuedPerClient/)
  })
})

async function collectRetained (tb: TestBroker, filter: string): Promise<Array<{ topic: string }>> {
  const out: Array<{ topic: string }> = []
  for await (const m of tb.broker.retained(filter)) out.push({ topic: m.topic })
  return out
}
