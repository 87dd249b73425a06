import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import mqtt from 'mqtt'
import { WebSocket, WebSocketServer } from 'ws'
import { createBroker, silentLogger, type Broker } from '@embedmq/core'
import { brokerHealth, mountBroker } from '../src/index.js'

async function listen (server: http.Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Opens a raw WebSocket and reports the HTTP status of a refused upgrade, or 101 when it opens. */
function upgradeStatus (url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['mqtt'], { headers })
    ws.once('open', () => { ws.terminate(); resolve(101) })
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate() })
    ws.once('error', (err) => reject(err))
  })
}

describe('@embedmq/express mountBroker', () => {
  let broker: Broker
  let server: http.Server
  let port: number
  const clients: mqtt.MqttClient[] = []

  beforeEach(async () => {
    broker = createBroker({ logger: silentLogger, allowAnonymous: true })
    await broker.start()
    const app = express()
    app.get('/api/machines', (_req, res) => { res.json([{ id: 'press-1' }]) })
    app.use(brokerHealth(broker))
    server = http.createServer(app)
    mountBroker(server, broker, { path: '/mqtt', allowedOrigins: ['http://Dashboard.example:80/'] })
    port = await listen(server)
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await broker.stop()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })

  it('serves the app routes and MQTT over WebSocket on the same port', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/machines`)
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), [{ id: 'press-1' }])

    const sub = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { reconnectPeriod: 0 })
    clients.push(sub)
    await sub.subscribeAsync('line/1/#', { qos: 1 })
    const received = new Promise<[string, string]>(resolve => sub.once('message', (t, p) => resolve([t, p.toString()])))
    const pub = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { reconnectPeriod: 0 })
    clients.push(pub)
    await pub.publishAsync('line/1/press', 'running', { qos: 1 })
    assert.deepEqual(await received, ['line/1/press', 'running'])
    assert.equal(broker.clients().every(c => c.transport === 'ws' && c.listener === 'express:/mqtt'), true)
  })

  it('refuses a browser Origin outside the allowlist with 403 before any MQTT byte', async () => {
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/mqtt`, { Origin: 'http://evil.example' }), 403)
    assert.equal(broker.clients().length, 0)
  })

  it('accepts a listed Origin (compared in canonical form), and clients that send no Origin (devices)', async () => {
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/mqtt`, { Origin: 'http://dashboard.example' }), 101)
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/mqtt`), 101)
  })

  it("leaves upgrades on other paths to the app's own WebSocket handler", async () => {
    const appSockets = new WebSocketServer({ noServer: true })
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/app-events') appSockets.handleUpgrade(req, socket, head, ws => ws.send('hello from the app'))
    })
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app-events`)
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', data => resolve(String(data)))
      ws.once('error', reject)
    })
    ws.close()
    assert.equal(first, 'hello from the app')
    assert.equal(broker.clients().length, 0)
  })

  it('refuses to mount with an allowlist entry that is no origin', () => {
    assert.throws(() => mountBroker(server, broker, { path: '/other', allowedOrigins: ['*'] }), /allowedOrigins: "\*" is not an origin/)
  })

  it('answers 404 to upgrades on unknown paths when the app has no handler of its own', async () => {
    assert.equal(await upgradeStatus(`ws://127.0.0.1:${port}/nowhere`), 404)
  })

  it('reports health: 200 while running, 503 once stopped', async () => {
    const running = await fetch(`http://127.0.0.1:${port}/healthz`)
    assert.equal(running.status, 200)
    const body = await running.json() as { status: string, state: string }
    assert.equal(body.status, 'ok')
    assert.equal(body.state, 'running')
    await broker.stop()
    const stopped = await fetch(`http://127.0.0.1:${port}/healthz`)
    assert.equal(stopped.status, 503)
    assert.equal((await stopped.json() as { state: string }).state, 'stopped')
  })
})
