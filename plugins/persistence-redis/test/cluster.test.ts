import assert from 'node:assert/strict'
import { collect, connect, eventually, startTestBroker, type Received, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { redisPersistence } from '../src/index.js'
import { Cleanup, SHARED_REDIS, connectRecording, deleteKeys, uniquePrefix } from './support.js'

/** Every message a client receives, as it arrives. */
function record (client: mqtt.MqttClient): Received[] {
  const got: Received[] = []
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }))
  return got
}

/**
 * Publishes a last message on `topic` and waits until every recorder has it: the bus keeps one
 * publisher's order, so whatever was published before it has arrived too (no sleeps).
 */
async function settle (pub: mqtt.MqttClient, topic: string, recorders: Received[][]): Promise<void> {
  await pub.publishAsync(topic, 'END', { qos: 1 })
  await eventually(() => recorders.every(r => r.some(m => m.payload === 'END')), `END on ${topic} to reach every subscriber`, 10_000)
}

describe('persistence-redis cluster: three brokers sharing one Redis and key prefix', function () {
  this.timeout(30_000)
  const cleanup = new Cleanup()
  let a: TestBroker, b: TestBroker, c: TestBroker
  let keyPrefix: string

  beforeEach(async () => {
    keyPrefix = uniquePrefix('cluster')
    const start = (): Promise<TestBroker> => startTestBroker({ allowAnonymous: true, plugins: [redisPersistence({ ...SHARED_REDIS, keyPrefix })] })
    a = cleanup.add(await start())
    b = cleanup.add(await start())
    c = cleanup.add(await start())
  })
  afterEach(async () => {
    await cleanup.run()
    await deleteKeys(keyPrefix)
  })

  it('delivers a message published on B to subscribers on A and C, once each, in order', async () => {
    const onA = cleanup.add(await connect(a.url('tcp'), { clientId: 'on-a' }))
    const onC = cleanup.add(await connect(c.url('ws'), { clientId: 'on-c' }))
    const alsoOnA = cleanup.add(await connect(a.url('tcp'), { clientId: 'also-on-a' }))
    await onA.subscribeAsync('line/+/count', { qos: 1 })
    await onC.subscribeAsync('line/#', { qos: 0 })
    await alsoOnA.subscribeAsync('line/7/count', { qos: 1 })
    const gotA = record(onA)
    const gotC = record(onC)
    const gotAlso = record(alsoOnA)

    const pub = cleanup.add(await connect(b.url('tcp'), { clientId: 'pub-b' }))
    for (let i = 0; i < 20; i++) await pub.publishAsync('line/7/count', String(i), { qos: (i % 2) as 0 | 1 })
    await settle(pub, 'line/7/count', [gotA, gotC, gotAlso])

    const expected = [...Array.from({ length: 20 }, (_, i) => String(i)), 'END']
    assert.deepEqual(gotA.map(m => m.payload), expected, 'A (wildcard subscription): each once, in order')
    assert.deepEqual(gotAlso.map(m => m.payload), expected, 'A (exact subscription): each once, in order')
    assert.deepEqual(gotC.map(m => m.payload), expected, 'C (over WebSocket): each once, in order')
  })

  it('routes wildcard filters whose literal parts contain Redis glob characters (* ? [ ])', async () => {
    const onA = cleanup.add(await connect(a.url('tcp'), { clientId: 'glob-a' }))
    await onA.subscribeAsync(['odd[1]/+', 'star*/#', 'q?/+'], { qos: 1 })
    const got = record(onA)
    const pub = cleanup.add(await connect(b.url('tcp'), { clientId: 'glob-b' }))
    for (const topic of ['odd[1]/x', 'odd1/x', 'star*/y/z', 'starry/y', 'q?/w', 'qq/w']) await pub.publishAsync(topic, topic, { qos: 1 })
    await settle(pub, 'q?/end', [got])
    assert.deepEqual(got.map(m => m.topic), ['odd[1]/x', 'star*/y/z', 'q?/w', 'q?/end'])
  })

  it('a retained message set on A is seen by a new subscriber on C', async () => {
    const setter = cleanup.add(await connect(a.url('tcp'), { clientId: 'setter' }))
    await setter.publishAsync('config/oven', '220C', { qos: 1, retain: true })
    const late = cleanup.add(await connect(c.url('tcp'), { clientId: 'late' }))
    await late.subscribeAsync('config/+', { qos: 1 })
    assert.deepEqual(await collect(late, 1), [{ topic: 'config/oven', payload: '220C' }])
  })

  it('session takeover: the same client id connecting to B closes its old connection on A', async () => {
    const old = cleanup.add(await connect(a.url('tcp'), { clientId: 'device-1', clean: false }))
    await old.subscribeAsync('cmd/device-1', { qos: 1 })
    const closed = new Promise<void>(resolve => old.once('close', () => resolve()))
    const fresh = cleanup.add(await connect(b.url('tcp'), { clientId: 'device-1', clean: false }))
    await closed
    assert.equal(old.connected, false, 'the old connection on A is closed')
    await eventually(() => !a.broker.clients().some(cl => cl.id === 'device-1'), 'A to forget device-1')
    assert.ok(b.broker.clients().some(cl => cl.id === 'device-1'), 'B holds device-1')

    // The session (its subscription) went with it: commands published on C reach it on B.
    const got = record(fresh)
    const pub = cleanup.add(await connect(c.url('tcp'), { clientId: 'ops' }))
    await settle(pub, 'cmd/device-1', [got])
    assert.deepEqual(got.map(m => m.payload), ['END'])
  })

  it('a persistent session left on A gets on B what was published on C while it was offline, once', async () => {
    const sub = await connect(a.url('tcp'), { clientId: 'roamer', clean: false })
    await sub.subscribeAsync('alarms/#', { qos: 1 })
    await sub.endAsync()
    await eventually(() => a.broker.clients().length === 0, 'roamer to leave A')

    const pub = cleanup.add(await connect(c.url('tcp'), { clientId: 'pub-c' }))
    for (let i = 0; i < 5; i++) await pub.publishAsync(`alarms/${i}`, `a${i}`, { qos: 1 })

    const { client: back, got } = await connectRecording(b.url('tcp'), { clientId: 'roamer', clean: false })
    cleanup.add(back)
    await eventually(() => got.length >= 5, 'the 5 queued alarms on B', 10_000)
    await settle(pub, 'alarms/end', [got])
    assert.deepEqual(got.map(m => m.payload), ['a0', 'a1', 'a2', 'a3', 'a4', 'END'])
  })

  it('an online persistent session on A gets live messages from B once, and not again after reconnecting', async () => {
    const sub = await connect(a.url('tcp'), { clientId: 'steady', clean: false })
    await sub.subscribeAsync('meter/#', { qos: 1 })
    const live = record(sub)
    const pub = cleanup.add(await connect(b.url('tcp'), { clientId: 'pub-b2' }))
    for (let i = 0; i < 10; i++) await pub.publishAsync('meter/1', `m${i}`, { qos: 1 })
    await settle(pub, 'meter/1', [live])
    assert.deepEqual(live.map(m => m.payload), [...Array.from({ length: 10 }, (_, i) => `m${i}`), 'END'])
    await sub.endAsync()

    // Acknowledged on A, so B's offline copies are cleared: nothing is replayed on reconnect.
    const { client: again, got: replay } = await connectRecording(c.url('tcp'), { clientId: 'steady', clean: false })
    cleanup.add(again)
    await settle(pub, 'meter/2', [replay])
    assert.deepEqual(replay.map(m => m.payload), ['END'])
  })
})
