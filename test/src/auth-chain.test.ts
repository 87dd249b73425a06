/**
 * One broker, three kinds of login in one chain, as a plant would run it:
 * devices with JWTs, browsers with the host app's session, operators with a
 * password file; the file's ACL governs operators and browsers, the tokens'
 * claims govern devices.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtemp, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import session from 'express-session'
import { SignJWT } from 'jose'
import type mqtt from 'mqtt'
import { createBroker, MemoryLogger, type Broker } from '@embedmq/core'
import { mountBroker } from '@embedmq/express'
import { authFile, hashPassword } from '@embedmq/auth-file'
import { jwtAuth } from '@embedmq/auth-jwt'
import { fromExpressSession, sessionAuth } from '@embedmq/auth-session'
import { collect, connackCode, connect, eventually } from '@embedmq/testing'

const SECRET = 'a-secret-of-at-least-thirty-two-bytes!'
const ORIGIN = 'http://dashboard.example'

declare module 'express-session' {
  interface SessionData { user?: string }
}

async function deviceToken (sub: string, expiresIn: string | number = '10m'): Promise<string> {
  return new SignJWT({ acl: { pub: [`factory/${sub}/#`], sub: [`factory/${sub}/cmd`] } })
    .setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET))
}

describe('one chain: JWT for devices, session for browsers, a password file for operators', function () {
  this.timeout(30_000)
  let broker: Broker
  let server: http.Server
  let mqttUrl: string
  let wsUrl: string
  let httpUrl: string
  const clients: mqtt.MqttClient[] = []
  const logs = new MemoryLogger()

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'embedmq-chain-'))
    await writeFile(join(dir, 'passwd'), `olga:${await hashPassword('olga-pw')}\n`, { mode: 0o600 })
    await writeFile(join(dir, 'acl'), [
      'user olga', 'topic readwrite factory/#',
      'user anna', 'topic read factory/+/state'
    ].join('\n') + '\n')
    const sessions = session({ secret: 'session-secret', resave: false, saveUninitialized: false })
    const app = express()
    app.use(sessions)
    app.post('/login', express.urlencoded({ extended: false }), (req, res) => {
      req.session.user = req.body.username
      res.sendStatus(204)
    })
    broker = createBroker({
      logger: logs,
      listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }],
      plugins: [
        sessionAuth({ identify: fromExpressSession(sessions, (s: { user?: string }) => s.user === undefined ? undefined : { username: s.user }), allowedOrigins: [ORIGIN] }),
        jwtAuth({ algorithms: ['HS256'], secret: SECRET, nonJwtPassword: 'next', priority: 10 }),
        authFile({ passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl'), watch: false, reloadOnSighup: false })
      ]
    })
    server = http.createServer(app)
    mountBroker(server, broker, { path: '/mqtt', allowedOrigins: [ORIGIN] })
    await broker.start()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    httpUrl = `http://127.0.0.1:${port}`
    wsUrl = `ws://127.0.0.1:${port}/mqtt`
    mqttUrl = broker.addresses()[0]!.url
  })

  after(async () => {
    await Promise.all(clients.map(c => c.endAsync(true)))
    await broker.stop()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })

  async function browserCookie (user: string): Promise<string> {
    const res = await fetch(`${httpUrl}/login`, { method: 'POST', body: new URLSearchParams({ username: user }), redirect: 'manual' })
    return res.headers.get('set-cookie')!.split(';')[0]!
  }
  async function keep (client: Promise<mqtt.MqttClient>): Promise<mqtt.MqttClient> {
    const c = await client
    clients.push(c)
    return c
  }

  it('lets each kind of client in by its own plugin, and routes by each one\'s ACL', async () => {
    const device = await keep(connect(mqttUrl, { clientId: 'press-1', username: 'jwt', password: await deviceToken('press-1') }))
    const operator = await keep(connect(mqttUrl, { clientId: 'console-1', username: 'olga', password: 'olga-pw' }))
    const cookie = await browserCookie('anna')
    const dashboard = await keep(connect(wsUrl, { clientId: 'dash-1', wsOptions: { headers: { Origin: ORIGIN, Cookie: cookie } } }))
    await eventually(() => broker.clients().length === 3, 'three clients')
    assert.deepEqual(broker.clients().map(c => [c.id, c.username, c.authenticatedBy]).sort(), [
      ['console-1', 'olga', 'auth-file'], ['dash-1', 'anna', 'auth-session'], ['press-1', 'press-1', 'auth-jwt']
    ])

    await device.subscribeAsync('factory/press-1/cmd', { qos: 1 })
    await operator.subscribeAsync('factory/#', { qos: 1 })
    await dashboard.subscribeAsync('factory/+/state', { qos: 1 })

    // A device state reaches the operator and the dashboard.
    const seenByOperator = collect(operator, 1)
    const seenByDashboard = collect(dashboard, 1)
    await device.publishAsync('factory/press-1/state', 'RUNNING', { qos: 1 })
    assert.deepEqual(await seenByDashboard, [{ topic: 'factory/press-1/state', payload: 'RUNNING' }])
    assert.deepEqual(await seenByOperator, [{ topic: 'factory/press-1/state', payload: 'RUNNING' }])

    // The dashboard may only read: its command is dropped; the operator's goes through.
    const commands = collect(device, 1)
    await dashboard.publishAsync('factory/press-1/cmd', 'from-browser', { qos: 1 })
    await operator.publishAsync('factory/press-1/cmd', 'stop', { qos: 1 })
    assert.deepEqual(await commands, [{ topic: 'factory/press-1/cmd', payload: 'stop' }])

    // A device cannot write outside its own topics (its token says so).
    const next = collect(dashboard, 1)
    await device.publishAsync('factory/press-2/state', 'spoofed', { qos: 1 })
    await device.publishAsync('factory/press-1/state', 'IDLE', { qos: 1 })
    assert.deepEqual(await next, [{ topic: 'factory/press-1/state', payload: 'IDLE' }])
  })

  it('refuses each kind of bad login with its own code', async () => {
    assert.equal(await connackCode(mqttUrl, { username: 'olga', password: 'wrong' }), 4)
    assert.equal(await connackCode(mqttUrl, { username: 'jwt', password: await deviceToken('press-9', Math.floor(Date.now() / 1000) - 3600) }), 4)
    assert.equal(await connackCode(wsUrl, { wsOptions: { headers: { Origin: ORIGIN } } }), 5)
    assert.equal(await connackCode(mqttUrl, {}), 5)
  })
})
