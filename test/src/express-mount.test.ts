import assert from 'node:assert/strict'
import type http from 'node:http'
import type { AddressInfo } from 'node:net'
import { brokerHealth, mountBroker } from '@embedmq/express'
import express from 'express'
import { startBroker, type TestBroker } from './helpers/broker.js'
import { defer, releaseAll } from './helpers/cleanup.js'
import { parseSubOutput, pubArgs, runToSuccess, startMosquittoSub } from './helpers/mosquitto.js'
import { connectClient, uniqueId } from './helpers/mqtt-client.js'
import { openRawWs, rawConnect } from './helpers/raw.js'
import { within } from './helpers/wait.js'

/** An Express app on 127.0.0.1 with the broker mounted on /mqtt and a health route; closed after the test. */
async function expressApp (tb: TestBroker): Promise<{ mqttUrl: string, httpUrl: string }> {
  const app = express()
  app.get('/hello', (_req, res) => { res.send('app route') })
  app.use(brokerHealth(tb.broker))
  const server = await new Promise<http.Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)) })
  defer('close the express server', () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  mountBroker(server, tb.broker, { path: '/mqtt' })
  const { port } = server.address() as AddressInfo
  return { mqttUrl: `ws://127.0.0.1:${port}/mqtt`, httpUrl: `http://127.0.0.1:${port}` }
}

describe('a broker mounted on an Express app (@embedmq/express)', function () {
  afterEach(releaseAll)

  it('carries messages between Mosquitto CLI clients on TCP and mqtt.js on the app\'s WebSocket path, next to the app\'s routes', async function () {
    const tb = await startBroker({ listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }] })
    const app = await expressApp(tb)
    const browser = await connectClient(app.mqttUrl)
    await browser.client.subscribeAsync('plant/#', { qos: 1 })

    await runToSuccess('mosquitto_pub', pubArgs({ port: tb.port('tcp'), clientId: uniqueId('mosquitto-pub'), topic: 'plant/boiler', message: '78 C', qos: 1 }))
    assert.deepEqual(await browser.inbox.waitFor(1), [{ topic: 'plant/boiler', payload: '78 C', qos: 1, retain: false }])

    const sub = await startMosquittoSub(tb.broker, { port: tb.port('tcp'), topic: 'commands/#', qos: 1, count: 1, waitSeconds: 10 })
    await browser.client.publishAsync('commands/boiler', 'off', { qos: 1 })
    assert.deepEqual(parseSubOutput((await sub.result).stdout), [{ topic: 'commands/boiler', qos: 1, retain: false, payload: 'off' }])

    assert.equal(await (await fetch(`${app.httpUrl}/hello`)).text(), 'app route')
    const health = await fetch(`${app.httpUrl}/healthz`)
    assert.equal(health.status, 200)
    assert.equal(browser.client.connected, true)
  })

  it('applies the broker\'s limits on the mounted path: an oversized PUBLISH is closed and not delivered', async function () {
    const tb = await startBroker({ listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }], limits: { maxPacketSize: 1024 } })
    const app = await expressApp(tb)
    const subscriber = await connectClient(tb.url('tcp'))
    await subscriber.client.subscribeAsync('#', { qos: 0 })
    const conn = await openRawWs(app.mqttUrl)
    await rawConnect(conn)

    conn.send({ cmd: 'publish', topic: 'big/mounted', payload: Buffer.alloc(2048, 0x61), qos: 0, retain: false, dup: false })

    await within(conn.closed, 'the oversized publisher on the mounted path to be closed')
    await tb.broker.publish('after', 'barrier')
    assert.deepEqual((await subscriber.inbox.waitFor(1)).map(m => m.topic), ['after'])
  })
})
