import assert from 'node:assert/strict'
import type { ClientContext, Message } from '@embedmq/core'
import { startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient, uniqueId } from './helpers/mqtt-client.js'
import { nextEvent } from './helpers/wait.js'

describe('last will', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      it('publishes the will of a client whose connection drops without DISCONNECT', async function () {
        const tb = await startBroker()
        const watcher = await connectClient(tb.url(transport))
        await watcher.client.subscribeAsync('devices/+/status', { qos: 1 })
        const device = await connectClient(tb.url(transport), {
          will: { topic: 'devices/pump-7/status', payload: Buffer.from('offline (unexpected)'), qos: 1, retain: false }
        })

        device.client.stream.destroy() // the socket goes away; no DISCONNECT is sent

        const [will] = await watcher.inbox.waitFor(1)
        assert.deepEqual(will, { topic: 'devices/pump-7/status', payload: 'offline (unexpected)', qos: 1, retain: false })
      })

      it('does not publish the will of a client that disconnects with DISCONNECT', async function () {
        const tb = await startBroker()
        const watcher = await connectClient(tb.url(transport))
        await watcher.client.subscribeAsync('devices/+/status', { qos: 1 })
        const id = uniqueId('device')
        const device = await connectClient(tb.url(transport), {
          clientId: id,
          will: { topic: 'devices/pump-8/status', payload: Buffer.from('offline (unexpected)'), qos: 1, retain: false }
        })
        const gone = nextEvent<[ClientContext]>(tb.broker, 'clientDisconnected', `client ${id} to be gone`, c => c.clientId === id)

        await device.client.endAsync() // sends DISCONNECT
        await gone

        // The broker has finished with the client, so a will would already be routed:
        // a message published now must be the first the watcher sees.
        await tb.broker.publish('devices/barrier/status', 'barrier', { qos: 1 })
        const [first] = await watcher.inbox.waitFor(1)
        assert.equal(first?.topic, 'devices/barrier/status', `no will is published; the watcher got ${JSON.stringify(watcher.inbox.messages)}`)
      })

      it('publishes a retained will that reaches a subscriber arriving later', async function () {
        const tb = await startBroker()
        const device = await connectClient(tb.url(transport), {
          will: { topic: 'devices/fan-2/status', payload: Buffer.from('offline'), qos: 1, retain: true }
        })
        const willRouted = nextEvent<[Message]>(tb.broker, 'published', 'the will to be routed (and so stored)', m => m.topic === 'devices/fan-2/status')
        device.client.stream.destroy()
        await willRouted

        const late = await connectClient(tb.url(transport))
        await late.client.subscribeAsync('devices/+/status', { qos: 1 })

        const [will] = await late.inbox.waitFor(1)
        assert.deepEqual(will, { topic: 'devices/fan-2/status', payload: 'offline', qos: 1, retain: true })
      })
    })
  }
})
