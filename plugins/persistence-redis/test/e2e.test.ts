import assert from 'node:assert/strict'
import { collect, connect, eventually, startTestBroker, type TestBroker } from '@embedmq/testing'
import { redisPersistence } from '../src/index.js'
import { Cleanup, SHARED_REDIS, connectRecording, deleteKeys, listKeys, uniquePrefix } from './support.js'

/** A test broker on the shared Redis under `keyPrefix`. */
function redisBroker (keyPrefix: string): Promise<TestBroker> {
  return startTestBroker({ allowAnonymous: true, plugins: [redisPersistence({ ...SHARED_REDIS, keyPrefix })] })
}

describe('persistence-redis end to end (one broker)', function () {
  this.timeout(30_000)
  const cleanup = new Cleanup()
  let keyPrefix: string
  beforeEach(() => { keyPrefix = uniquePrefix('e2e') })
  afterEach(async () => {
    await cleanup.run()
    await deleteKeys(keyPrefix)
  })

  it('a persistent session receives, in order, the QoS 1 messages published while it was offline', async () => {
    const tb = cleanup.add(await redisBroker(keyPrefix))
    const sub = await connect(tb.url('tcp'), { clientId: 'offline-sub', clean: false })
    await sub.subscribeAsync('plant/+/temp', { qos: 1 })
    await sub.endAsync()

    const pub = cleanup.add(await connect(tb.url('tcp'), { clientId: 'pub' }))
    for (let i = 0; i < 5; i++) await pub.publishAsync('plant/press-1/temp', `t${i}`, { qos: 1 })
    // Acknowledged means stored: the queue is in Redis now.
    assert.ok((await listKeys(keyPrefix)).includes('outgoing:offline-sub'), 'the offline queue is a Redis list')

    const { client: back, got } = await connectRecording(tb.url('tcp'), { clientId: 'offline-sub', clean: false })
    cleanup.add(back)
    await eventually(() => got.length >= 5, 'the 5 queued messages')
    assert.deepEqual(got.map(m => m.payload), ['t0', 't1', 't2', 't3', 't4'])
  })

  it('retained messages and subscriptions survive a broker restart (new broker, same Redis)', async () => {
    const first = await redisBroker(keyPrefix)
    const setter = await connect(first.url('tcp'), { clientId: 'setter' })
    await setter.publishAsync('config/line-1', 'speed=3', { qos: 1, retain: true })
    await setter.endAsync()
    const sub = await connect(first.url('tcp'), { clientId: 'durable', clean: false })
    await sub.subscribeAsync('alerts/#', { qos: 1 })
    await sub.endAsync()
    await first.stop()

    const second = cleanup.add(await redisBroker(keyPrefix))
    const fresh = cleanup.add(await connect(second.url('tcp'), { clientId: 'fresh' }))
    await fresh.subscribeAsync('config/#', { qos: 1 })
    assert.deepEqual(await collect(fresh, 1), [{ topic: 'config/line-1', payload: 'speed=3' }])

    // The subscription made on the first broker routes on the second one, offline and online.
    const pub = cleanup.add(await connect(second.url('tcp'), { clientId: 'pub' }))
    await pub.publishAsync('alerts/fire', 'while offline', { qos: 1 })
    const { client: durable, got } = await connectRecording(second.url('tcp'), { clientId: 'durable', clean: false })
    cleanup.add(durable)
    await eventually(() => got.length >= 1, 'the queued alert')
    await pub.publishAsync('alerts/flood', 'while online', { qos: 1 })
    await eventually(() => got.length >= 2, 'the live alert')
    assert.deepEqual(got, [{ topic: 'alerts/fire', payload: 'while offline' }, { topic: 'alerts/flood', payload: 'while online' }])
  })

  it('the broker API reads retained messages from Redis', async () => {
    const tb = cleanup.add(await redisBroker(keyPrefix))
    await tb.broker.publish('status/a', 'up', { qos: 1, retain: true })
    const found: string[] = []
    for await (const m of tb.broker.retained('status/#')) found.push(`${m.topic}=${m.payload.toString()}`)
    assert.deepEqual(found, ['status/a=up'])
  })

  it('a clean session leaves no subscription or queue in Redis', async () => {
    const tb = cleanup.add(await redisBroker(keyPrefix))
    const c = await connect(tb.url('tcp'), { clientId: 'transient', clean: true })
    await c.subscribeAsync('x/#', { qos: 1 })
    await c.endAsync()
    await eventually(() => tb.broker.clients().length === 0, 'the client to be gone')
    const keys = await listKeys(keyPrefix)
    assert.ok(!keys.some(k => k.includes('transient')), `keys left: ${keys.join(', ')}`)
  })
})
