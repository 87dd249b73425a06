// A token that expires while its client is connected: the client is disconnected then, and only that connection.
import assert from 'node:assert/strict'
import { capturePlugin, connect, eventually, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import type { ClientContext } from '@embedmq/core'
import { jwtAuth } from '../src/index.js'
import type { ExpiryWatch } from '../src/expiry.js'
import type mqtt from 'mqtt'
import { brokerWith, closed, hs, now, SECRET } from './helpers.js'

describe('auth-jwt: disconnect on token expiry', function () {
  this.timeout(20_000)
  let tb: (TestBroker & { plugin: { watchedConnections: number } }) | undefined
  const clients: mqtt.MqttClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb?.stop()
    tb = undefined
  })
  const login = async (transport: 'tcp' | 'ws', clientId: string, expIn: number): Promise<mqtt.MqttClient> => {
    const client = await connect(tb!.url(transport), { clientId, username: 'anna', password: await hs({ sub: 'anna' }, { expIn }) })
    clients.push(client)
    return client
  }

  for (const transport of TEST_TRANSPORTS) {
    it(`disconnects a client when its token expires, and logs it (${transport})`, async () => {
      tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, clockToleranceSeconds: 0 })
      const client = await login(transport, 'short-lived', 2)
      assert.equal(tb.plugin.watchedConnections, 1)
      await closed(client)
      const lines = tb.logs.find('info', 'token of client "short-lived" (user "anna") expired at')
      assert.equal(lines.length, 1, 'the expiry is logged')
      assert.ok(lines[0]!.msg.endsWith('disconnecting it'))
      await eventually(() => tb!.plugin.watchedConnections === 0, 'the expiry timer is released')
      assert.equal(tb.broker.clients().length, 0)
    })
  }

  it('does not disconnect a new connection that took over the client id of one whose token expires', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, clockToleranceSeconds: 0 })
    const exp = now() + 2
    const old = await connect(tb.url('tcp'), { clientId: 'device-7', username: 'anna', password: await hs({ sub: 'anna', exp }, { expIn: null }) })
    clients.push(old)
    const oldClosed = closed(old)
    // The same client id logs in again with a fresh token (MQTT-3.1.4-2: the old connection is closed).
    const fresh = await login('ws', 'device-7', 3600)
    await oldClosed
    // A witness whose token expires at the same second, armed later: by the time it is disconnected,
    // the old connection's deadline has passed too.
    const witness = await connect(tb.url('tcp'), { clientId: 'witness', username: 'anna', password: await hs({ sub: 'anna', exp }, { expIn: null }) })
    clients.push(witness)
    await closed(witness)
    assert.ok(fresh.connected, 'the connection holding device-7 now was not disconnected')
    await fresh.publishAsync('still/here', 'yes', { qos: 1 })
    assert.deepEqual(tb.broker.clients().map(c => c.id), ['device-7'])
    assert.equal(tb.logs.find('info', 'expired at').filter(e => e.fields.clientId === 'device-7').length, 0)
    assert.equal(tb.plugin.watchedConnections, 1, 'only the fresh connection is watched')
  })

  it('never disconnects the connection holding a client id when an older connection\'s timer fires', async () => {
    // The guard behind the test above, with the listener driven directly against a real broker:
    // connection A's disconnect notification is withheld, so its timer does fire.
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET }, { allowAnonymous: true })
    const holder = await connect(tb.url('tcp'), { clientId: 'device-7' })
    clients.push(holder)
    const { connectionListeners } = await capturePlugin(jwtAuth({ algorithms: ['HS256'], secret: SECRET, clockToleranceSeconds: 0 }), tb.broker)
    const watch = connectionListeners[0] as ExpiryWatch
    const context = (exp: number): ClientContext => ({ clientId: 'device-7', identity: { username: 'anna', roles: [], claims: { exp }, authenticatedBy: 'auth-jwt' }, connectionId: `c-${exp}`, transport: 'tcp', listener: 'tcp:0' })
    watch.onConnect(context(now()))       // A: already expired, fires at once
    watch.onConnect(context(now() + 3600)) // B: took the id over; A's disconnect never reported
    await eventually(() => watch.tracked === 1, 'A\'s timer to fire')
    const disconnected = closed(holder).then(() => { throw new Error('A\'s timer disconnected the connection holding device-7') })
    await Promise.race([holder.publishAsync('still/here', 'yes', { qos: 1 }), disconnected])
    disconnected.catch(() => {})
    assert.ok(holder.connected)
    watch.clear()
  })

  it('releases every timer when clients leave or the broker stops', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET })
    const a = await login('tcp', 'a', 3600)
    await login('ws', 'b', 3600)
    await login('tcp', 'c', 10 ** 9) // far beyond setTimeout's 24.8-day limit: chained, not fired at once
    assert.equal(tb.plugin.watchedConnections, 3)
    await a.endAsync()
    await eventually(() => tb!.plugin.watchedConnections === 2, 'the timer of a client that left is cleared')
    assert.equal(tb.broker.clients().length, 2, 'the far-future token did not disconnect its client')
    await tb.stop()
    assert.equal(tb.plugin.watchedConnections, 0)
  })

  it('leaves clients connected past expiry with disconnectOnExpiry: false', async () => {
    tb = await brokerWith({ algorithms: ['HS256'], secret: SECRET, clockToleranceSeconds: 0, disconnectOnExpiry: false })
    const exp = now() + 1
    const client = await connect(tb.url('tcp'), { clientId: 'lenient', username: 'anna', password: await hs({ sub: 'anna', exp }, { expIn: null }) })
    clients.push(client)
    await eventually(() => Date.now() > exp * 1000 + 200, 'the token to expire', 5000)
    await client.publishAsync('still/here', 'yes', { qos: 1 })
    assert.ok(client.connected)
    assert.equal(tb.plugin.watchedConnections, 0)
  })
})
