import assert from 'node:assert/strict'
import type { Message } from '@embedmq/core'
import { startBroker, TRANSPORTS, type TestBroker } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient } from './helpers/mqtt-client.js'

async function storedRetained (tb: TestBroker, filter: string): Promise<Message[]> {
  const stored: Message[] = []
  for await (const m of tb.broker.retained(filter)) stored.push(m)
  return stored
}

describe('retained messages', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      it('delivers a retained message to a new subscriber, with the retain flag set', async function () {
        const tb = await startBroker()
        const publisher = await connectClient(tb.url(transport))
        await publisher.client.publishAsync('config/thermostat/mode', 'eco', { qos: 1, retain: true })

        const late = await connectClient(tb.url(transport))
        await late.client.subscribeAsync('config/thermostat/+', { qos: 1 })

        const [message] = await late.inbox.waitFor(1)
        assert.deepEqual(message, { topic: 'config/thermostat/mode', payload: 'eco', qos: 1, retain: true })
      })

      it('sends a retained message to already-established subscriptions with the retain flag cleared (MQTT-3.3.1-9)', async function () {
        const tb = await startBroker()
        const early = await connectClient(tb.url(transport))
        await early.client.subscribeAsync('config/#', { qos: 1 })
        const publisher = await connectClient(tb.url(transport))

        await publisher.client.publishAsync('config/fan', 'auto', { qos: 1, retain: true })

        const [message] = await early.inbox.waitFor(1)
        assert.deepEqual(message, { topic: 'config/fan', payload: 'auto', qos: 1, retain: false })
      })

      it('keeps only the latest retained message of a topic', async function () {
        const tb = await startBroker()
        const publisher = await connectClient(tb.url(transport))
        await publisher.client.publishAsync('config/light', 'off', { qos: 1, retain: true })
        await publisher.client.publishAsync('config/light', 'on', { qos: 1, retain: true })

        const late = await connectClient(tb.url(transport))
        await late.client.subscribeAsync('config/light', { qos: 1 })
        await late.inbox.waitFor(1)
        // A live message after the retained one: if 'off' were still retained, it would have come before it.
        await publisher.client.publishAsync('config/light', 'dimmed', { qos: 1 })
        await late.inbox.waitFor(2)

        assert.deepEqual(late.inbox.messages.map(m => [m.payload, m.retain]), [['on', true], ['dimmed', false]])
      })

      it('clears the retained message of a topic when a retained empty payload is published', async function () {
        const tb = await startBroker()
        const publisher = await connectClient(tb.url(transport))
        await publisher.client.publishAsync('config/door', 'locked', { qos: 1, retain: true })
        assert.equal((await storedRetained(tb, 'config/door')).length, 1)

        await publisher.client.publishAsync('config/door', '', { qos: 1, retain: true })

        assert.deepEqual(await storedRetained(tb, 'config/#'), [], 'the broker stores no retained message for the topic')
        const late = await connectClient(tb.url(transport))
        await late.client.subscribeAsync('config/door', { qos: 1 })
        await publisher.client.publishAsync('config/door', 'live', { qos: 1 })
        const [first] = await late.inbox.waitFor(1)
        assert.deepEqual(first, { topic: 'config/door', payload: 'live', qos: 1, retain: false }, 'the first message a new subscriber sees is the live one')
      })
    })
  }

  it('delivers a message retained over one transport to a new subscriber on the other', async function () {
    const tb = await startBroker()
    const publisher = await connectClient(tb.url('tcp'))
    await publisher.client.publishAsync('config/cross', 'tcp-set', { qos: 2, retain: true })

    const late = await connectClient(tb.url('ws'))
    await late.client.subscribeAsync('config/cross', { qos: 2 })

    const [message] = await late.inbox.waitFor(1)
    assert.deepEqual(message, { topic: 'config/cross', payload: 'tcp-set', qos: 2, retain: true })
  })
})
