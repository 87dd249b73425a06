import assert from 'node:assert/strict'
import type { ClientContext } from '@embedmq/core'
import { startBroker, TRANSPORTS } from './helpers/broker.js'
import { releaseAll } from './helpers/cleanup.js'
import { connectClient } from './helpers/mqtt-client.js'
import { connectBytes, openRaw, rawConnect } from './helpers/raw.js'
import { nextEvent, until, within } from './helpers/wait.js'

describe('limits.maxConnections', function () {
  afterEach(releaseAll)

  for (const transport of TRANSPORTS) {
    it(`closes a third connection on ${transport} when limits.maxConnections is 2 (counted across listeners), and the others keep working`, async function () {
      const tb = await startBroker({ limits: { maxConnections: 2 } })
      const overTcp = await connectClient(tb.url('tcp'))
      const overWs = await connectClient(tb.url('ws'))
      await overWs.client.subscribeAsync('capacity/#', { qos: 1 })

      const third = await openRaw(tb, transport)
      third.write(connectBytes())

      await within(third.closed, 'the broker to close the connection over the limit')
      assert.deepEqual(third.unread, [], 'the connection over the limit gets no CONNACK')
      await tb.logs.waitForLine('a warning about maxConnections', l => l.level === 'warn' && l.msg.includes('maxConnections'))

      await overTcp.client.publishAsync('capacity/check', 'still served', { qos: 1 })
      assert.equal((await overWs.inbox.waitFor(1))[0]?.payload, 'still served')
      assert.ok(!overTcp.client.disconnected && overTcp.client.connected, 'the first client is still connected')
    })
  }

  it('lets a new client in once a connection under the limit has closed', async function () {
    const tb = await startBroker({ limits: { maxConnections: 2 } })
    const a = await connectClient(tb.url('tcp'))
    await connectClient(tb.url('ws'))
    const refused = await openRaw(tb, 'tcp')
    await within(refused.closed, 'the connection over the limit to be closed')

    const gone = nextEvent<[ClientContext]>(tb.broker, 'clientDisconnected', `client ${a.id} to be gone`, c => c.clientId === a.id)
    await a.client.endAsync()
    await gone
    await until(() => tb.broker.health().connections < 2, 'the closed connection to stop counting')

    const later = await openRaw(tb, 'tcp')
    assert.equal((await rawConnect(later)).returnCode, 0)
  })
})
