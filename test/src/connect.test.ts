import assert from 'node:assert/strict'
import { startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient } from './helpers/mqtt-client.js'
import { openRaw, rawConnect } from './helpers/raw.js'
import { until, within } from './helpers/wait.js'

describe('CONNECT handling', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, function () {
      it('refuses a zero-byte client id with CleanSession=0 with CONNACK return code 2, then closes (MQTT-3.1.3-8)', async function () {
        const tb = await startBroker()
        const conn = await openRaw(tb, transport)

        const connack = await rawConnect(conn, { clientId: '', clean: false })

        assert.equal(connack.returnCode, 2, 'CONNACK 0x02: identifier rejected')
        await within(conn.closed, 'the broker to close the refused connection (MQTT-3.2.2-5)')
        assert.deepEqual(tb.broker.clients(), [])
      })

      it('accepts a zero-byte client id with CleanSession=1 and gives the client an id', async function () {
        const tb = await startBroker()
        const conn = await openRaw(tb, transport)

        const connack = await rawConnect(conn, { clientId: '', clean: true })

        assert.equal(connack.returnCode, 0)
        assert.equal(connack.sessionPresent, false)
        await until(() => tb.broker.clients().length === 1, 'the client to be listed')
        const [client] = tb.broker.clients()
        assert.ok(client && client.id.length > 0, `the broker assigned a non-empty id: ${JSON.stringify(client)}`)
        assert.equal(client.transport, transport)
        // It is a working client: it can subscribe.
        conn.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'anon/#', qos: 1 }] })
        const suback = await conn.nextPacket('SUBACK')
        assert.deepEqual(suback.cmd === 'suback' ? suback.granted : suback, [1])
      })

      it('gives distinct ids to two clients that both send a zero-byte client id', async function () {
        const tb = await startBroker()
        const a = await openRaw(tb, transport)
        const b = await openRaw(tb, transport)

        assert.equal((await rawConnect(a, { clientId: '' })).returnCode, 0)
        assert.equal((await rawConnect(b, { clientId: '' })).returnCode, 0)

        await until(() => tb.broker.clients().length === 2, 'both clients to be listed')
        assert.ok(!a.isClosed && !b.isClosed, 'neither takes over the other')
      })

      it('closes a connection that sends no CONNECT within limits.connectTimeoutMs', async function () {
        const tb = await startBroker({ limits: { connectTimeoutMs: 300 } })
        const silent = await openRaw(tb, transport)

        await within(silent.closed, 'the broker to close a connection that never sent CONNECT')

        assert.deepEqual(silent.unread, [], 'nothing was sent to it')
        // The broker still serves clients that do connect.
        const client = await connectClient(tb.url(transport))
        assert.equal(client.connack.returnCode, 0)
      })
    })
  }
})
