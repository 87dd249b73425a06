import assert from 'node:assert/strict'
import net, { type AddressInfo } from 'node:net'
import { isEmbedmqError, type BrokerState } from '@embedmq/core'
import { createTestBroker, startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient } from './helpers/mqtt-client.js'
import { within } from './helpers/wait.js'

/** A port the OS reports free right now. */
function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Listens on `port` and closes again; rejects (EADDRINUSE) if something holds it. */
function listenOnce (port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()))
  })
}

describe('broker lifecycle', function () {
  afterEach(releaseAll)

  it('stop() before start() resolves and leaves the broker stopped', async function () {
    const { broker } = createTestBroker()

    await broker.stop()

    assert.equal(broker.state, 'stopped')
    assert.deepEqual(broker.addresses(), [])
  })

  it('stop() twice, in a row or at once, resolves each time', async function () {
    const tb = await startBroker()
    const states: BrokerState[] = []
    tb.broker.on('stateChanged', s => states.push(s))

    await Promise.all([tb.broker.stop(), tb.broker.stop()])
    await tb.broker.stop()

    assert.equal(tb.broker.state, 'stopped')
    assert.deepEqual(states, ['stopping', 'stopped'], 'the broker stops once')
  })

  it('start() after stop() rejects with EMBEDMQ_INVALID_STATE', async function () {
    const tb = await startBroker()
    await tb.broker.stop()

    await assert.rejects(tb.broker.start(), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_INVALID_STATE'))
  })

  for (const transport of TRANSPORTS) {
    it(`rejects start() with EMBEDMQ_LISTEN_ADDRESS_IN_USE naming the port when a ${transport} port is taken, and leaves the first broker serving`, async function () {
      const first = await startBroker()
      const taken = first.port(transport)
      const { broker: second } = createTestBroker({ listeners: [{ type: transport, host: '127.0.0.1', port: taken }] })

      await assert.rejects(second.start(), (err: unknown) => {
        assert.ok(isEmbedmqError(err), `an EmbedmqError: ${String(err)}`)
        assert.equal(err.code, 'EMBEDMQ_LISTEN_ADDRESS_IN_USE')
        assert.match(err.message, new RegExp(`\\b${taken}\\b`), 'the message names the port')
        return true
      })

      assert.equal(second.state, 'stopped')
      const client = await connectClient(first.url(transport))
      assert.equal(client.connack.returnCode, 0)
    })
  }

  it('closes the listeners it had already opened when a later one fails to start', async function () {
    const first = await startBroker()
    const free = await freePort()
    const { broker: second } = createTestBroker({
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: free }, { type: 'ws', host: '127.0.0.1', port: first.port('ws') }]
    })

    await assert.rejects(second.start(), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_LISTEN_ADDRESS_IN_USE'))

    await listenOnce(free) // throws EADDRINUSE if the TCP listener were left open
  })

  it('frees its ports on stop, even with clients connected: a new broker can listen on them', async function () {
    const tb = await startBroker()
    const ports = { tcp: tb.port('tcp'), ws: tb.port('ws') }
    const clients = await Promise.all(TRANSPORTS.map(t => connectClient(tb.url(t))))

    await tb.broker.stop()

    await Promise.all(clients.map(c => within(c.closed, `client ${c.id} to be closed by stop()`)))
    const next = await startBroker({
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: ports.tcp }, { type: 'ws', host: '127.0.0.1', port: ports.ws }]
    })
    assert.deepEqual({ tcp: next.port('tcp'), ws: next.port('ws') }, ports)
    for (const transport of TRANSPORTS) assert.equal((await connectClient(next.url(transport))).connack.returnCode, 0)
  })

  it('reports its listeners while running and its state through start and stop', async function () {
    const { broker } = createTestBroker()
    const states: BrokerState[] = []
    broker.on('stateChanged', s => states.push(s))

    await broker.start()
    const addresses = broker.addresses()
    await broker.stop()

    assert.deepEqual(addresses.map(a => a.transport), ['tcp', 'ws'])
    assert.match(addresses[0]?.url ?? '', /^mqtt:\/\/127\.0\.0\.1:\d+$/)
    assert.match(addresses[1]?.url ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/)
    assert.deepEqual(states, ['starting', 'running', 'stopping', 'stopped'])
  })
})
