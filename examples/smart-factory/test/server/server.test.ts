/**
 * The factory server's ACL and HTTP roles, with real mqtt.js clients over
 * TCP and WebSocket and real HTTP requests.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import { MemoryLogger } from '@embedmq/core'
import { connackCode, connect, eventually, subackCodes } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { createFactoryServer, type FactoryServer } from '../../src/server/server.js'
import { defaultPlant, machinePassword } from '../../src/shared/plant.js'
import { machineTopic } from '../../src/shared/topics.js'
import { FakeMachine } from './helpers/fake-machine.js'
import { api, login } from './helpers/http.js'

const plant = defaultPlant()
const SITE = plant.site
const [a, b] = plant.machines as [typeof plant.machines[0], typeof plant.machines[0]]
const addrOf = (m: typeof a): { site: string, line: string, machine: string } => ({ site: SITE, line: m.line, machine: m.id })

/** The HTTP status of a WebSocket upgrade request (101 when accepted). */
function upgradeStatus (url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'mqtt' } })
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode ?? 0) })
    req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
  })
}

describe('factory server: ACL and roles', function () {
  this.timeout(30_000)
  let fs: FactoryServer
  let logs: MemoryLogger
  const clients: mqtt.MqttClient[] = []
  const machines: FakeMachine[] = []

  before(async () => {
    logs = new MemoryLogger()
    fs = await createFactoryServer({ port: 0, mqttPort: 0, persistence: 'memory', plant, logger: logs, controller: { commandTimeoutMs: 1000 } })
  })
  after(async () => { await fs.stop() })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await Promise.all(machines.splice(0).map(m => m.close().catch(() => undefined)))
  })

  const track = <T extends mqtt.MqttClient>(c: T): T => { clients.push(c); return c }
  const machine = async (spec: typeof a, options = {}): Promise<FakeMachine> => {
    const m = new FakeMachine(fs.urls.mqtt, SITE, spec, options)
    machines.push(m)
    return m.connect()
  }
  /** A viewer over TCP with its dashboard password, recording what it receives. */
  const watcher = async (): Promise<{ client: mqtt.MqttClient, got: string[] }> => {
    const client = track(await connect(fs.urls.mqtt, { username: 'viewer', password: 'viewer', clientId: 'watcher' }))
    const got: string[] = []
    client.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`))
    await client.subscribeAsync(`factory/${SITE}/#`, { qos: 1 })
    return { client, got }
  }

  describe('MQTT logins', () => {
    it('lets machines in with their derived password and their own client id only', async () => {
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: a.id, username: a.id, password: machinePassword(a.id) }), 0)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: a.id, username: a.id, password: 'guess' }), 4)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: a.id, username: a.id, password: machinePassword(b.id) }), 4)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: `${a.id}.pub`, username: a.id, password: machinePassword(a.id) }), 0, 'an extra connection')
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: 'other', username: a.id, password: machinePassword(a.id) }), 2)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: `${b.id}.x`, username: a.id, password: machinePassword(a.id) }), 2)
      // b's password and a's client id: taking over a's session (and its queued commands) is refused.
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: a.id, username: b.id, password: machinePassword(b.id) }), 2)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: a.id, username: 'operator', password: 'operator' }), 2)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: `${a.id}.sneaky`, username: 'viewer', password: 'viewer' }), 2)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: 'x' }), 5, 'anonymous')
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: 'x', username: 'stranger', password: 'x' }), 5)
      assert.equal(await connackCode(fs.urls.mqtt, { clientId: 'x', username: 'viewer', password: 'wrong' }), 4)
    })

    it('refuses WebSocket connections without a session, and pages from other origins', async () => {
      const ws = fs.urls.ws
      assert.equal(await connackCode(ws, { clientId: 'x', username: 'viewer', password: 'viewer' }), 5, 'no password logins on the dashboard socket')
      const cookie = await login(fs.urls.http, 'viewer', 'viewer')
      assert.equal(await connackCode(ws, { clientId: 'page', wsOptions: { headers: { cookie, origin: fs.urls.http } } }), 0)
      assert.equal(await upgradeStatus(`${fs.urls.http}/mqtt`, { cookie, origin: 'http://evil.example' }), 403, 'a foreign page is refused at the upgrade')
    })
  })

  describe('ACL', () => {
    it('a machine publishes only under its own topics', async () => {
      const { got } = await watcher()
      const ma = await machine(a)
      await ma.client!.publishAsync(machineTopic(addrOf(b), 'telemetry'), 'spoofed b', { qos: 1 })
      await ma.client!.publishAsync(machineTopic(addrOf(b), 'state'), 'spoofed b state', { qos: 1 })
      await ma.client!.publishAsync(machineTopic(addrOf(a), 'cmd'), 'own cmd', { qos: 1 })
      await ma.client!.publishAsync(machineTopic(addrOf(a), 'oee'), 'own oee', { qos: 1 })
      await ma.client!.publishAsync(machineTopic({ ...addrOf(a), line: 'line9' }, 'telemetry'), 'wrong line', { qos: 1 })
      await ma.client!.publishAsync(machineTopic(addrOf(a), 'telemetry'), 'own telemetry', { qos: 1 })
      await eventually(() => got.some(m => m.endsWith('own telemetry')), 'a\'s own telemetry to arrive')
      assert.deepEqual(got.filter(m => /spoofed|own cmd|own oee|wrong line/.test(m)), [])
    })

    it('a machine reads only its own commands', async () => {
      const ma = await machine(a)
      assert.deepEqual(await subackCodes(ma.client!, [machineTopic(addrOf(b), 'cmd')], 1), [128])
      assert.deepEqual(await subackCodes(ma.client!, [`factory/${SITE}/#`], 1), [128])
      assert.deepEqual(await subackCodes(ma.client!, ['#'], 1), [128])
      const mb = await machine(b)
      const result = await fs.controller.sendCommand(b.id, 'stop', undefined, 'test')
      assert.equal(result.status, 'acknowledged')
      assert.equal(mb.received.length, 1)
      assert.equal(ma.received.length, 0)
    })

    it('viewers and operators cannot publish, commands included, over TCP or WebSocket', async () => {
      const mb = await machine(b)
      const { got } = await watcher()
      const tcpOperator = track(await connect(fs.urls.mqtt, { username: 'operator', password: 'operator', clientId: 'op-tcp' }))
      await tcpOperator.publishAsync(machineTopic(addrOf(b), 'cmd'), JSON.stringify({ id: 'x', action: 'stop', ts: 1 }), { qos: 1 })
      const cookie = await login(fs.urls.http, 'viewer', 'viewer')
      const page = track(await connect(fs.urls.ws, { clientId: 'viewer-page', wsOptions: { headers: { cookie, origin: fs.urls.http } } }))
      await page.publishAsync(machineTopic(addrOf(b), 'cmd'), JSON.stringify({ id: 'y', action: 'stop', ts: 1 }), { qos: 1 })
      await page.publishAsync(machineTopic(addrOf(b), 'telemetry'), 'fake telemetry', { qos: 1 })
      assert.deepEqual(await subackCodes(page, [`factory/${SITE}/#`, '#', 'factory/+/#', '$SYS/#'], 0), [0, 128, 128, 128])
      // A marker the broker publishes after those: once it arrives, the refused ones would have too.
      await fs.broker.publish(machineTopic(addrOf(b), 'info'), 'marker', { qos: 1 })
      await eventually(() => got.some(m => m.endsWith('marker')), 'the marker')
      assert.deepEqual(mb.received, [])
      assert.deepEqual(got.filter(m => m.includes('fake telemetry') || m.includes('"action"')), [])
    })
  })

  describe('HTTP roles', () => {
    it('login, me and logout', async () => {
      assert.equal((await api(fs.urls.http, '/api/me')).status, 401)
      const bad = await fetch(`${fs.urls.http}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'operator', password: 'nope' }) })
      assert.equal(bad.status, 401)
      const form = await fetch(`${fs.urls.http}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=viewer&password=viewer' })
      assert.equal(form.status, 303)
      assert.equal(form.headers.get('location'), '/')
      const cookie = await login(fs.urls.http, 'operator', 'operator')
      assert.deepEqual((await api(fs.urls.http, '/api/me', { cookie })).body, { username: 'operator', role: 'operator' })
      assert.equal((await api(fs.urls.http, '/api/plant', { cookie })).body.site, SITE)
      assert.equal((await api(fs.urls.http, '/logout', { cookie, method: 'POST', body: {} })).status, 200)
      assert.equal((await api(fs.urls.http, '/api/me', { cookie })).status, 401)
      const health = await api(fs.urls.http, '/healthz')
      assert.equal(health.status, 200)
    })

    it('commands: operator gets the ack, viewer 403, logged out 401, foreign origin 403', async () => {
      await machine(a)
      const path = `/api/machines/${a.id}/commands`
      const operator = await login(fs.urls.http, 'operator', 'operator')
      const viewer = await login(fs.urls.http, 'viewer', 'viewer')
      const ok = await api(fs.urls.http, path, { cookie: operator, method: 'POST', body: { action: 'stop' }, origin: fs.urls.http })
      assert.equal(ok.status, 200)
      assert.equal(ok.body.status, 'acknowledged')
      assert.equal((ok.body.ack as { state: string }).state, 'IDLE')
      assert.equal((await api(fs.urls.http, path, { cookie: viewer, method: 'POST', body: { action: 'stop' } })).status, 403)
      assert.equal((await api(fs.urls.http, path, { method: 'POST', body: { action: 'stop' } })).status, 401)
      assert.equal((await api(fs.urls.http, path, { cookie: operator, method: 'POST', body: { action: 'stop' }, origin: 'http://evil.example' })).status, 403)
      assert.equal((await api(fs.urls.http, '/api/machines/nope/commands', { cookie: operator, method: 'POST', body: { action: 'stop' } })).status, 404)
      const bad = await api(fs.urls.http, path, { cookie: operator, method: 'POST', body: { action: 'explode' } })
      assert.equal(bad.status, 400)
      assert.match(String(bad.body.error), /unknown action/)
      const malformed = await fetch(`${fs.urls.http}${path}`, { method: 'POST', headers: { cookie: operator, 'content-type': 'application/json' }, body: '{"action":' })
      assert.equal(malformed.status, 400)
      assert.ok(typeof ((await malformed.json()) as { error?: unknown }).error === 'string', 'a JSON error, not an HTML stack trace')
      const audit = await api(fs.urls.http, '/api/audit', { cookie: viewer })
      assert.equal((audit.body as unknown as Array<{ by: string }>)[0]?.by, 'operator')
    })

    it('commands to an offline machine answer 202 queued; a silent machine 504', async () => {
      const operator = await login(fs.urls.http, 'operator', 'operator')
      const queued = await api(fs.urls.http, `/api/machines/${b.id}/commands`, { cookie: operator, method: 'POST', body: { action: 'start' } })
      assert.equal(queued.status, 202)
      assert.equal(queued.body.message, 'queued: machine offline')
      await machine(a, { answer: false })
      const silent = await api(fs.urls.http, `/api/machines/${a.id}/commands`, { cookie: operator, method: 'POST', body: { action: 'stop' } })
      assert.equal(silent.status, 504)
      assert.match(String(silent.body.error), /did not acknowledge/)
    })

    it('alarm acks: operator only', async () => {
      const ma = await machine(a)
      await ma.publishState('FAULT', 'E-7')
      await eventually(() => fs.controller.alarms().some(x => x.machine === a.id && !x.cleared), 'a fault alarm')
      const id = fs.controller.alarms().find(x => x.machine === a.id && !x.cleared)!.id
      const operator = await login(fs.urls.http, 'operator', 'operator')
      const viewer = await login(fs.urls.http, 'viewer', 'viewer')
      assert.equal((await api(fs.urls.http, `/api/alarms/${id}/ack`, { cookie: viewer, method: 'POST', body: {} })).status, 403)
      assert.equal((await api(fs.urls.http, `/api/alarms/${id}/ack`, { method: 'POST', body: {} })).status, 401)
      const acked = await api(fs.urls.http, `/api/alarms/${id}/ack`, { cookie: operator, method: 'POST', body: {} })
      assert.equal(acked.status, 200)
      assert.equal((acked.body.alarm as { acknowledgedBy: string }).acknowledgedBy, 'operator')
      assert.equal((await api(fs.urls.http, '/api/alarms/nope/ack', { cookie: operator, method: 'POST', body: {} })).status, 404)
      await ma.publishState('IDLE', 'reset')
      await eventually(() => !fs.controller.alarms().some(x => x.id === id), 'the acknowledged alarm to go once cleared')
    })
  })
})
