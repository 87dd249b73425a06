import assert from 'node:assert/strict'
import net from 'node:net'
import type { Message } from '@embedmq/core'
import { startBroker, TRANSPORTS, type TestBroker } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient } from './helpers/mqtt-client.js'
import { until, within } from './helpers/wait.js'

describe('two brokers in one process', function () {
  afterEach(releaseAll)

  it('listen on separate ports', async function () {
    const a = await startBroker()
    const b = await startBroker()

    const ports = [a.port('tcp'), a.port('ws'), b.port('tcp'), b.port('ws')]
    assert.equal(new Set(ports).size, 4, `four distinct ports: ${ports.join(', ')}`)
    assert.notEqual(a.broker.id, b.broker.id)
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      it('never deliver a message published on one to the clients or in-process subscribers of the other', async function () {
        const a = await startBroker()
        const b = await startBroker()
        const onA = await connectClient(a.url(transport))
        await onA.client.subscribeAsync('#', { qos: 1 })
        const onB = await connectClient(b.url(transport))
        await onB.client.subscribeAsync('#', { qos: 1 })
        const inProcessB: Message[] = []
        await b.broker.subscribe('#', m => { inProcessB.push(m) })
        const publisherA = await connectClient(a.url(transport))

        await publisherA.client.publishAsync('plant/line-1/state', 'running', { qos: 1 })
        await a.broker.publish('plant/line-1/speed', '42', { qos: 1 })

        // Both messages were routed on A (its subscriber has them). B gets a barrier message of its own:
        // if anything from A had leaked into B, it would have been delivered by now.
        assert.deepEqual((await onA.inbox.waitFor(2)).map(m => m.topic), ['plant/line-1/state', 'plant/line-1/speed'])
        const publisherB = await connectClient(b.url(transport))
        await publisherB.client.publishAsync('barrier', 'b', { qos: 1 })
        await onB.inbox.waitFor(1)
        assert.deepEqual(onB.inbox.messages.map(m => m.topic), ['barrier'])
        assert.deepEqual(inProcessB.map(m => m.topic), ['barrier'])
      })

      it('keep separate retained messages', async function () {
        const a = await startBroker()
        const b = await startBroker()
        const publisherA = await connectClient(a.url(transport))
        await publisherA.client.publishAsync('config/mode', 'from A', { qos: 1, retain: true })
        await b.broker.publish('config/mode', 'from B', { qos: 1, retain: true })

        const lateA = await connectClient(a.url(transport))
        await lateA.client.subscribeAsync('config/#', { qos: 1 })
        const lateB = await connectClient(b.url(transport))
        await lateB.client.subscribeAsync('config/#', { qos: 1 })

        assert.deepEqual(await lateA.inbox.waitFor(1), [{ topic: 'config/mode', payload: 'from A', qos: 1, retain: true }])
        assert.deepEqual(await lateB.inbox.waitFor(1), [{ topic: 'config/mode', payload: 'from B', qos: 1, retain: true }])
        const retainedOnB: string[] = []
        for await (const m of b.broker.retained('#')) retainedOnB.push(m.payload.toString())
        assert.deepEqual(retainedOnB, ['from B'])
      })

      it('list only their own clients, and let the same client id connect to each without a takeover', async function () {
        const a = await startBroker()
        const b = await startBroker()

        const sameOnA = await connectClient(a.url(transport), { clientId: 'same-id' })
        const sameOnB = await connectClient(b.url(transport), { clientId: 'same-id' })
        const onlyA = await connectClient(a.url(transport))

        // aedes marks a client connected just after its CONNACK is written: let the lists settle.
        const ids = (tb: TestBroker): string[] => tb.broker.clients().map(c => c.id).sort()
        await until(() => ids(a).length === 2 && ids(b).length === 1, 'both brokers to list their clients')
        assert.deepEqual(ids(a), ['same-id', onlyA.id].sort())
        assert.deepEqual(ids(b), ['same-id'])
        // Both 'same-id' clients still work: neither broker knows of the other's.
        await sameOnA.client.subscribeAsync('ping', { qos: 1 })
        await sameOnB.client.subscribeAsync('ping', { qos: 1 })
        await a.broker.publish('ping', 'A', { qos: 1 })
        await b.broker.publish('ping', 'B', { qos: 1 })
        assert.equal((await sameOnA.inbox.waitFor(1))[0]?.payload, 'A')
        assert.equal((await sameOnB.inbox.waitFor(1))[0]?.payload, 'B')
      })

      it('keep serving on one when the other stops', async function () {
        const a = await startBroker()
        const b = await startBroker()
        const onA = await connectClient(a.url(transport))
        const subscriberB = await connectClient(b.url(transport))
        await subscriberB.client.subscribeAsync('after/#', { qos: 1 })
        const publisherB = await connectClient(b.url(transport))
        const aPort = a.port(transport)

        await a.broker.stop()

        await within(onA.closed, 'the client of the stopped broker to be closed')
        await publisherB.client.publishAsync('after/stop', 'B still serves', { qos: 1 })
        assert.equal((await subscriberB.inbox.waitFor(1))[0]?.payload, 'B still serves')
        assert.equal(b.broker.state, 'running')
        assert.deepEqual(b.broker.clients().map(c => c.id).sort(), [subscriberB.id, publisherB.id].sort())
        const refused = await new Promise<string>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: aPort })
          socket.once('connect', () => { socket.destroy(); resolve('connected') })
          socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
        })
        assert.equal(refused, 'ECONNREFUSED', 'the stopped broker no longer listens')
      })
    })
  }
})
