import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { silentLogger } from '@embedmq/core'
import { startApp, type RunningApp } from '../src/app.js'

describe('examples/embed-express', () => {
  let app: RunningApp
  const clients: mqtt.MqttClient[] = []
  beforeEach(async () => { app = await startApp({ port: 0, mqttPort: 0, host: '127.0.0.1', logger: silentLogger }) })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await app.stop()
  })

  it('shows over REST the telemetry a device published over TCP', async () => {
    const device = await mqtt.connectAsync(app.urls.mqtt, { reconnectPeriod: 0 })
    clients.push(device)
    await device.publishAsync('machines/press-1/telemetry', JSON.stringify({ temp: 41.5 }), { qos: 1 })
    let machines: unknown = []
    for (let i = 0; i < 100 && (machines as unknown[]).length === 0; i++) {
      machines = await (await fetch(`${app.urls.http}/api/machines`)).json()
      if ((machines as unknown[]).length === 0) await new Promise(resolve => setTimeout(resolve, 20))
    }
    assert.deepEqual(machines, [{ id: 'press-1', telemetry: { temp: 41.5 } }])
  })

  it('sends a REST command to a browser client on the WebSocket path of the same port', async () => {
    const browser = await mqtt.connectAsync(app.urls.ws, { reconnectPeriod: 0 })
    clients.push(browser)
    await browser.subscribeAsync('machines/+/cmd', { qos: 1 })
    const received = new Promise<[string, string]>(resolve => browser.once('message', (t, p) => resolve([t, p.toString()])))
    const res = await fetch(`${app.urls.http}/api/machines/press-1/commands`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ command: 'stop' })
    })
    assert.equal(res.status, 202)
    assert.deepEqual(await received, ['machines/press-1/cmd', '{"command":"stop"}'])
  })

  it('refuses a command without a body with 400', async () => {
    const res = await fetch(`${app.urls.http}/api/machines/press-1/commands`, { method: 'POST' })
    assert.equal(res.status, 400)
  })
})
