import assert from 'node:assert/strict'
import { startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient, type QoS } from './helpers/mqtt-client.js'

const QOS_LEVELS: readonly QoS[] = [0, 1, 2]

describe('mqtt.js to mqtt.js through the broker', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      for (const qos of QOS_LEVELS) {
        it(`delivers a QoS ${qos} message with its topic, payload and QoS`, async function () {
          const tb = await startBroker()
          const subscriber = await connectClient(tb.url(transport))
          const [grant] = await subscriber.client.subscribeAsync('sensors/+/temperature', { qos: 2 })
          assert.equal(grant?.qos, 2, 'the broker grants the QoS 2 subscription')
          const publisher = await connectClient(tb.url(transport))

          await publisher.client.publishAsync('sensors/kitchen/temperature', `21.5 C at QoS ${qos}`, { qos })

          const [message] = await subscriber.inbox.waitFor(1)
          assert.deepEqual(message, { topic: 'sensors/kitchen/temperature', payload: `21.5 C at QoS ${qos}`, qos, retain: false })
        })
      }

      it('delivers each QoS 2 message exactly once, in order', async function () {
        const tb = await startBroker()
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('orders/#', { qos: 2 })
        const publisher = await connectClient(tb.url(transport))
        const sent = ['order-1', 'order-2', 'order-3', 'order-4', 'order-5']

        for (const payload of sent) await publisher.client.publishAsync('orders/new', payload, { qos: 2 })
        // Messages from one publisher on one topic arrive in order (MQTT 3.1.1 §4.6), so once
        // the last one is in, any duplicate of an earlier one would already be here too.
        await publisher.client.publishAsync('orders/new', 'last', { qos: 2 })
        await subscriber.inbox.waitFor(sent.length + 1)

        assert.deepEqual(subscriber.inbox.messages.map(m => m.payload), [...sent, 'last'])
        assert.ok(subscriber.inbox.messages.every(m => m.qos === 2), 'every message arrives at QoS 2')
      })

      it('delivers at the lower of the publish and subscription QoS', async function () {
        const tb = await startBroker()
        const subscriber = await connectClient(tb.url(transport))
        await subscriber.client.subscribeAsync('downgrade/zero', { qos: 0 })
        await subscriber.client.subscribeAsync('downgrade/one', { qos: 1 })
        const publisher = await connectClient(tb.url(transport))

        await publisher.client.publishAsync('downgrade/zero', 'a', { qos: 2 })
        await publisher.client.publishAsync('downgrade/one', 'b', { qos: 2 })

        assert.equal((await subscriber.inbox.waitFor(1, 'downgrade/zero'))[0]?.qos, 0)
        assert.equal((await subscriber.inbox.waitFor(1, 'downgrade/one'))[0]?.qos, 1)
      })
    })
  }

  describe('across transports', function () {
    for (const [from, to] of [['tcp', 'ws'], ['ws', 'tcp']] as const) {
      for (const qos of QOS_LEVELS) {
        it(`delivers a QoS ${qos} message from a ${from} publisher to a ${to} subscriber`, async function () {
          const tb = await startBroker()
          const subscriber = await connectClient(tb.url(to))
          await subscriber.client.subscribeAsync('bridge/+', { qos: 2 })
          const publisher = await connectClient(tb.url(from))

          await publisher.client.publishAsync(`bridge/${from}`, `from ${from} at QoS ${qos}`, { qos })

          const [message] = await subscriber.inbox.waitFor(1)
          assert.deepEqual(message, { topic: `bridge/${from}`, payload: `from ${from} at QoS ${qos}`, qos, retain: false })
        })
      }
    }
  })
})
