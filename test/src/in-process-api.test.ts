import assert from 'node:assert/strict'
import { isEmbedmqError, type Message } from '@embedmq/core'
import { startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { lineText } from './helpers/logger.js'
import { connectClient } from './helpers/mqtt-client.js'
import { until, within } from './helpers/wait.js'

/** Collects what an in-process subscription receives. */
function collector (): { messages: Message[], topics: () => string[], handler: (m: Message) => void } {
  const messages: Message[] = []
  return { messages, topics: () => messages.map(m => m.topic), handler: (m) => { messages.push(m) } }
}

describe('the in-process API', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`with mqtt.js clients on ${transport}`, function () {
      it('broker.subscribe("a/+/c") receives a/b/c, not a/b/c/d nor a/b, from MQTT clients and from the host', async function () {
        const tb = await startBroker()
        const plus = collector()
        await tb.broker.subscribe('a/+/c', plus.handler)
        const publisher = await connectClient(tb.url(transport))

        for (const topic of ['a/b/c', 'a/b/c/d', 'a/b', 'x/b/c']) await publisher.client.publishAsync(topic, topic, { qos: 1 })
        await tb.broker.publish('a/from-host/c', 'host', { qos: 1 })

        await until(() => plus.messages.length >= 2, `two matches at the in-process subscriber; got ${JSON.stringify(plus.topics())}`)
        assert.deepEqual(plus.topics(), ['a/b/c', 'a/from-host/c'])
        assert.deepEqual(plus.messages.map(m => [m.payload.toString(), m.qos, m.retain]), [['a/b/c', 1, false], ['host', 1, false]])
      })

      it('broker.publish reaches MQTT subscribers with its QoS, and retained messages reach later ones', async function () {
        const tb = await startBroker()
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('host/#', { qos: 2 })

        await tb.broker.publish('host/announce', Buffer.from('hello'), { qos: 2 })
        await tb.broker.publish('host/config', 'v2', { qos: 1, retain: true })

        // MQTT orders messages per QoS level, not across levels: look them up by topic.
        assert.deepEqual(await subscriber.inbox.waitFor(1, 'host/announce'), [{ topic: 'host/announce', payload: 'hello', qos: 2, retain: false }])
        assert.deepEqual(await subscriber.inbox.waitFor(1, 'host/config'), [{ topic: 'host/config', payload: 'v2', qos: 1, retain: false }])
        const late = await connectClient(tb.url(transport))
        await late.client.subscribeAsync('host/#', { qos: 2 })
        assert.deepEqual(await late.inbox.waitFor(1), [{ topic: 'host/config', payload: 'v2', qos: 1, retain: true }])
      })

      it('keeps delivering to MQTT clients when an in-process handler throws or rejects', async function () {
        const tb = await startBroker()
        await tb.broker.subscribe('alerts/#', () => { throw new Error('handler bug (sync)') })
        await tb.broker.subscribe('alerts/#', () => Promise.reject(new Error('handler bug (async)')))
        const healthy = collector()
        await tb.broker.subscribe('alerts/#', healthy.handler)
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('alerts/#', { qos: 1 })
        const publisher = await connectClient(tb.url(transport))

        await publisher.client.publishAsync('alerts/fire', 'one', { qos: 1 })
        await publisher.client.publishAsync('alerts/flood', 'two', { qos: 0 })
        await tb.broker.publish('alerts/host', 'three', { qos: 1 })

        // Three publishers of sorts (QoS 1, QoS 0, the host): arrival order across them is not specified.
        assert.deepEqual((await subscriber.inbox.waitFor(3)).map(m => m.payload).sort(), ['one', 'three', 'two'])
        await until(() => healthy.messages.length === 3, 'the other in-process subscriber to get all three')
        await tb.logs.waitForLine('an error naming the failing subscription (sync)', l => l.level === 'error' && l.msg.includes('alerts/#') && lineText(l).includes('handler bug (sync)'))
        await tb.logs.waitForLine('an error naming the failing subscription (async)', l => l.level === 'error' && l.msg.includes('alerts/#') && lineText(l).includes('handler bug (async)'))
        assert.equal(tb.broker.state, 'running')
      })

      it('broker.clients() lists each client with its id, transport and subscriptions', async function () {
        const tb = await startBroker()
        const client = await connectClient(tb.url(transport))
        await client.client.subscribeAsync({ 'rooms/+/temperature': { qos: 1 }, 'rooms/kitchen/#': { qos: 2 } })

        await until(() => (tb.broker.clients()[0]?.subscriptions.length ?? 0) === 2, 'the client and its two subscriptions to be listed')
        const [info, ...others] = tb.broker.clients()
        assert.deepEqual(others, [])
        assert.equal(info?.id, client.id)
        assert.equal(info.transport, transport)
        assert.equal(info.clean, true)
        assert.equal(info.remoteAddress?.replace(/^::ffff:/, ''), '127.0.0.1')
        assert.deepEqual([...info.subscriptions].sort((x, y) => x.filter.localeCompare(y.filter)),
          [{ filter: 'rooms/+/temperature', qos: 1 }, { filter: 'rooms/kitchen/#', qos: 2 }])

        await client.client.unsubscribeAsync('rooms/kitchen/#')
        await until(() => tb.broker.clients()[0]?.subscriptions.length === 1, 'the unsubscribed filter to disappear')
        await client.client.endAsync()
        await until(() => tb.broker.clients().length === 0, 'the client to disappear once it has disconnected')
      })

      it('broker.disconnect(id) closes that client, publishes its will, and leaves the others connected', async function () {
        const tb = await startBroker()
        const watcher = await connectClient(tb.url(transport))
        await watcher.client.subscribeAsync('devices/+/status', { qos: 1 })
        const device = await connectClient(tb.url(transport), {
          will: { topic: 'devices/kiosk-1/status', payload: Buffer.from('disconnected by host'), qos: 1, retain: false }
        })
        await until(() => tb.broker.clients().some(c => c.id === device.id), 'the device to be listed')

        assert.equal(await tb.broker.disconnect(device.id), true)

        await within(device.closed, `client ${device.id} to be closed`)
        const [will] = await watcher.inbox.waitFor(1)
        assert.deepEqual(will, { topic: 'devices/kiosk-1/status', payload: 'disconnected by host', qos: 1, retain: false })
        assert.deepEqual(tb.broker.clients().map(c => c.id), [watcher.id])
        assert.equal(await tb.broker.disconnect('no-such-client'), false)
      })
    })
  }

  it('"#" and "+/..." do not match topics beginning with "$" (MQTT-4.7.2-1); "$SYS/#" does', async function () {
    const tb = await startBroker()
    const hash = collector()
    const plus = collector()
    const sys = collector()
    await tb.broker.subscribe('#', hash.handler)
    await tb.broker.subscribe('+/embedmq-test/info', plus.handler)
    await tb.broker.subscribe('$SYS/#', sys.handler)

    await tb.broker.publish('$SYS/embedmq-test/info', 'system')
    await tb.broker.publish('app/embedmq-test/info', 'app')

    await until(() => sys.messages.length === 1 && hash.messages.length >= 1 && plus.messages.length >= 1, 'every subscription to receive what it matches')
    assert.deepEqual(sys.topics(), ['$SYS/embedmq-test/info'])
    assert.deepEqual(hash.topics(), ['app/embedmq-test/info'])
    assert.deepEqual(plus.topics(), ['app/embedmq-test/info'])
  })

  it('stops delivering to an in-process subscription once it is unsubscribed', async function () {
    const tb = await startBroker()
    const gone = collector()
    const stays = collector()
    const unsubscribe = await tb.broker.subscribe('news/#', gone.handler)
    await tb.broker.subscribe('news/#', stays.handler)
    await tb.broker.publish('news/1', 'first')
    await until(() => gone.messages.length === 1, 'the first message')

    await unsubscribe()
    await tb.broker.publish('news/2', 'second')

    await until(() => stays.messages.length === 2, 'the remaining subscription to get the second message')
    assert.deepEqual(gone.topics(), ['news/1'])
  })

  for (const topic of ['a/+/c', 'a/#', '#', '+', '']) {
    it(`broker.publish(${JSON.stringify(topic)}) rejects with EMBEDMQ_INVALID_TOPIC`, async function () {
      const tb = await startBroker()
      const all = collector()
      await tb.broker.subscribe('#', all.handler)

      await assert.rejects(tb.broker.publish(topic, 'x'), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_INVALID_TOPIC'))

      await tb.broker.publish('after', 'y')
      await until(() => all.messages.length >= 1, 'the valid message')
      assert.deepEqual(all.topics(), ['after'], 'nothing was published for the invalid topic')
    })
  }

  for (const filter of ['a/#/c', 'a+', 'a/b#', '']) {
    it(`broker.subscribe(${JSON.stringify(filter)}) rejects with EMBEDMQ_INVALID_TOPIC`, async function () {
      const tb = await startBroker()

      await assert.rejects(tb.broker.subscribe(filter, () => undefined), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_INVALID_TOPIC'))
    })
  }
})
