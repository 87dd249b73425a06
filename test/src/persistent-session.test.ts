import assert from 'node:assert/strict'
import type { ClientContext } from '@embedmq/core'
import { startBroker, TRANSPORTS, type TestBroker, type Transport } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient, uniqueId, type TestClient } from './helpers/mqtt-client.js'
import { nextEvent } from './helpers/wait.js'

/** Ends a client with DISCONNECT and waits until the broker has let it go. */
async function disconnectAndWait (tb: TestBroker, client: TestClient): Promise<void> {
  const gone = nextEvent<[ClientContext]>(tb.broker, 'clientDisconnected', `client ${client.id} to be gone`, c => c.clientId === client.id)
  await client.client.endAsync()
  await gone
}

const OFFLINE = ['position 1', 'position 2', 'position 3', 'position 4', 'position 5']

describe('persistent sessions (CleanSession=0)', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      it('delivers, in order, the QoS 1 messages published while the client was offline when it reconnects with the same id', async function () {
        const tb = await startBroker()
        const id = uniqueId('tracker')
        const first = await connectClient(tb.url(transport), { clientId: id, clean: false })
        assert.equal(first.connack.sessionPresent, false, 'a new client id has no session yet')
        await first.client.subscribeAsync('fleet/+/position', { qos: 1 })
        await disconnectAndWait(tb, first)

        const publisher = await connectClient(tb.url(transport))
        for (const payload of OFFLINE) await publisher.client.publishAsync('fleet/truck-9/position', payload, { qos: 1 })

        const again = await connectClient(tb.url(transport), { clientId: id, clean: false })
        assert.equal(again.connack.sessionPresent, true, 'CONNACK says the session was kept')
        const received = await again.inbox.waitFor(OFFLINE.length)
        assert.deepEqual(received.map(m => m.payload), OFFLINE)
        assert.ok(received.every(m => m.topic === 'fleet/truck-9/position' && m.qos === 1), JSON.stringify(received))
        // The subscription is part of the session: new messages arrive without subscribing again.
        await publisher.client.publishAsync('fleet/truck-9/position', 'live', { qos: 1 })
        assert.equal((await again.inbox.waitFor(OFFLINE.length + 1)).at(-1)?.payload, 'live')
      })

      it('keeps nothing for a client that comes back with CleanSession=1', async function () {
        const tb = await startBroker()
        const id = uniqueId('tracker')
        const first = await connectClient(tb.url(transport), { clientId: id, clean: false })
        await first.client.subscribeAsync('fleet/+/position', { qos: 1 })
        await disconnectAndWait(tb, first)
        const publisher = await connectClient(tb.url(transport))
        await publisher.client.publishAsync('fleet/truck-3/position', 'while offline', { qos: 1 })

        const again = await connectClient(tb.url(transport), { clientId: id, clean: true })

        assert.equal(again.connack.sessionPresent, false)
        await again.client.subscribeAsync('fleet/+/position', { qos: 1 })
        await publisher.client.publishAsync('fleet/truck-3/position', 'after reconnect', { qos: 1 })
        const [firstReceived] = await again.inbox.waitFor(1)
        assert.equal(firstReceived?.payload, 'after reconnect', `the offline message is discarded; got ${JSON.stringify(again.inbox.messages)}`)
      })
    })
  }

  for (const [from, to] of [['tcp', 'ws'], ['ws', 'tcp']] as Array<[Transport, Transport]>) {
    it(`resumes a session begun over ${from} when the client comes back over ${to}`, async function () {
      const tb = await startBroker()
      const id = uniqueId('roamer')
      const first = await connectClient(tb.url(from), { clientId: id, clean: false })
      await first.client.subscribeAsync('roam/#', { qos: 1 })
      await disconnectAndWait(tb, first)
      for (const payload of OFFLINE) await tb.broker.publish('roam/news', payload, { qos: 1 })

      const again = await connectClient(tb.url(to), { clientId: id, clean: false })

      assert.equal(again.connack.sessionPresent, true)
      assert.deepEqual((await again.inbox.waitFor(OFFLINE.length)).map(m => m.payload), OFFLINE)
    })
  }
})
