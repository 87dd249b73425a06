import assert from 'node:assert/strict'
import type { Broker } from '../src/index.js'
import { connect, eventually, startBroker } from './helpers.js'

describe('QoS 2 with persistent sessions', function () {
  this.timeout(30_000)
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('delivers every one of a burst of QoS 2 messages exactly once to a connected persistent subscriber', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const sub = await connect(started.url, { clientId: 'durable-q2', clean: false })
    await sub.subscribeAsync('burst/#', { qos: 2 })
    const got: string[] = []
    sub.on('message', (_t, p) => got.push(p.toString()))
    const pub = await connect(started.url)
    const sent = Array.from({ length: 300 }, (_v, i) => String(i))
    await Promise.all(sent.map(p => pub.publishAsync('burst/x', p, { qos: 2 })))
    await eventually(() => got.length >= sent.length, `all ${sent.length} messages (got ${got.length})`, 20_000)
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.deepEqual([...got].sort((a, b) => Number(a) - Number(b)), sent)
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })

  it('replays QoS 2 messages queued while offline at the QoS the subscription granted', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const first = await connect(started.url, { clientId: 'durable-q1', clean: false })
    await first.subscribeAsync('queued/#', { qos: 1 })
    await first.endAsync()
    await eventually(() => broker!.clients().length === 0, 'the subscriber to be offline')
    const pub = await connect(started.url)
    for (const p of ['a', 'b', 'c']) await pub.publishAsync('queued/x', p, { qos: 2 })
    const back = await connect(started.url, { clientId: 'durable-q1', clean: false })
    const got: Array<[string, number]> = []
    back.on('message', (_t, p, packet) => got.push([p.toString(), packet.qos]))
    await eventually(() => got.length === 3, 'the three queued messages')
    assert.deepEqual(got, [['a', 1], ['b', 1], ['c', 1]])
    // They were acknowledged at QoS 1 and are gone from the session: a new connection gets nothing more.
    await back.endAsync()
    const again = await connect(started.url, { clientId: 'durable-q1', clean: false })
    const more: string[] = []
    again.on('message', (_t, p) => more.push(p.toString()))
    await pub.publishAsync('queued/x', 'live', { qos: 2 })
    await eventually(() => more.length === 1, 'the live message')
    assert.deepEqual(more, ['live'])
    await Promise.all([again.endAsync(), pub.endAsync()])
  })

  it('downgrades a QoS 2 message to the QoS 1 a wildcard subscription granted', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const sub = await connect(started.url)
    await sub.subscribeAsync('plant/#', { qos: 1 })
    const received = new Promise<number>(resolve => sub.once('message', (_t, _p, packet) => resolve(packet.qos)))
    const pub = await connect(started.url)
    await pub.publishAsync('plant/line-1/alarm', 'hot', { qos: 2 })
    assert.equal(await received, 1)
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })
})
