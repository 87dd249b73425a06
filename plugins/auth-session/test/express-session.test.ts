/**
 * Session login end to end with real parts: an Express 5 app with
 * express-session, a real POST /login, the broker on the app's own port
 * (mountBroker), and mqtt.js over real WebSockets carrying the cookie.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import type mqtt from 'mqtt'
import { collect, connackCode, connect, eventually } from '@embedmq/testing'
import { DEVICE, SESSION_SECRET, startHostApp, type HostApp } from './helpers/host-app.js'
import { upgradeStatus } from './helpers/upgrade.js'

/** Signs a session id as express-session (cookie-signature) does: s:<id>.<base64 HMAC-SHA256>. */
const signedCookie = (id: string, secret: string): string =>
  `connect.sid=${encodeURIComponent(`s:${id}.${createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')}`)}`

/** The session id inside a `connect.sid=s%3A<id>.<sig>` cookie. */
const sessionIdOf = (cookie: string): string => decodeURIComponent(cookie.slice('connect.sid='.length)).slice(2).split('.')[0]!

describe('auth-session with express-session', function () {
  let app: HostApp | undefined
  const clients: mqtt.MqttClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await app?.stop()
    app = undefined
  })
  const browserLike = (a: HostApp, cookie?: string, origin = a.origin): mqtt.IClientOptions =>
    ({ wsOptions: { headers: { Origin: origin, ...(cookie === undefined ? {} : { Cookie: cookie }) } } })

  it('logs a session cookie from POST /login in without a password, as the session user', async () => {
    app = await startHostApp()
    const cookie = await app.login('anna', 'anna-pw')
    const client = await connect(app.wsUrl(), { clientId: 'anna-page', ...browserLike(app, cookie) })
    clients.push(client)
    // The app records identities on the broker's clientConnected event, which may come just after the client read its CONNACK.
    await eventually(() => app!.identities.has('anna-page'), 'the clientConnected event for anna-page')
    const info = app.broker.clients().find(c => c.id === 'anna-page')
    assert.equal(info?.username, 'anna')
    assert.equal(info?.transport, 'ws')
    assert.equal(info?.listener, 'express:/mqtt')
    assert.deepEqual(app.identities.get('anna-page'), { username: 'anna', roles: ['operator'], claims: { via: 'express-session' }, authenticatedBy: 'auth-session' })
    // And it works as an MQTT session: it receives what the app publishes.
    await client.subscribeAsync('news/#', { qos: 1 })
    const got = collect(client, 1)
    await app.broker.publish('news/today', 'hello anna', { qos: 1 })
    assert.deepEqual(await got, [{ topic: 'news/today', payload: 'hello anna' }])
  })

  it('ignores the CONNECT username and password of a session login', async () => {
    app = await startHostApp()
    const cookie = await app.login('bob', 'bob-pw')
    const client = await connect(app.wsUrl(), { clientId: 'bob-page', username: 'admin', password: 'guess', ...browserLike(app, cookie) })
    clients.push(client)
    await eventually(() => app!.broker.clients().some(c => c.id === 'bob-page'), 'bob-page to be listed in broker.clients()')
    assert.equal(app.broker.clients().find(c => c.id === 'bob-page')?.username, 'bob')
  })

  it('refuses a WebSocket client without a session cookie with CONNACK 5', async () => {
    app = await startHostApp()
    assert.equal(await connackCode(app.wsUrl(), browserLike(app)), 5)
    assert.equal(await connackCode(app.wsUrl(), {}), 5, 'no Origin and no cookie (a non-browser client) is refused too')
    assert.ok(app.logs.find('info', 'no logged-in session').length >= 2, 'the refusal says why in the log')
  })

  it('refuses forged, unsigned, wrongly signed and unknown session cookies with CONNACK 5', async () => {
    app = await startHostApp()
    const real = await app.login('anna', 'anna-pw')
    const id = sessionIdOf(real)
    const forged = [
      'connect.sid=s%3Aforged.c2lnbmF0dXJl', // made up
      `connect.sid=${id}`, // the real id, without a signature
      `connect.sid=${encodeURIComponent(`s:${id}.`)}${'A'.repeat(43)}`, // the real id, a wrong signature
      signedCookie(id, 'some other secret'), // the real id, signed with another key
      signedCookie('no-such-session-id', SESSION_SECRET), // correctly signed, but no such session in the store
      real.replace('connect.sid=', 'other.sid=') // the right value under another cookie name
    ]
    for (const cookie of forged) {
      assert.equal(await connackCode(app.wsUrl(), browserLike(app, cookie)), 5, `cookie ${cookie}`)
    }
    assert.equal(await connackCode(app.wsUrl(), browserLike(app, real)), 0, 'the real cookie still works')
    assert.equal(await connackCode(app.wsUrl(), browserLike(app, signedCookie(id, SESSION_SECRET))), 0, 'and so does the same id signed with the right secret')
  })

  it('answers a foreign Origin with 403 at the upgrade (mountBroker), and refuses it itself where the mount has no allowlist', async () => {
    app = await startHostApp()
    const cookie = await app.login('anna', 'anna-pw')
    const evil = 'http://127.0.0.1:1'
    // The guarded mount: 403 before any MQTT byte, cookie or not.
    assert.equal(await upgradeStatus(app.wsUrl('/mqtt'), { Origin: evil, Cookie: cookie }), 403)
    assert.equal(await upgradeStatus(app.wsUrl('/mqtt'), { Origin: app.origin, Cookie: cookie }), 101)
    await assert.rejects(connackCode(app.wsUrl('/mqtt'), browserLike(app, cookie, evil)), /403|closed before CONNACK/, 'mqtt.js cannot connect')
    // A mount without allowedOrigins lets the upgrade through; the plugin's own check refuses the login.
    assert.equal(await upgradeStatus(app.wsUrl('/mqtt-unguarded'), { Origin: evil, Cookie: cookie }), 101)
    assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), browserLike(app, cookie, evil)), 5)
    const [line] = app.logs.find('warn', 'Cross-Site WebSocket Hijacking')
    assert.ok(line, 'the refusal is logged as a warning naming the attack')
    assert.equal(line.fields.origin, evil)
    assert.equal(line.fields.hasCookie, true)
    assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), browserLike(app, cookie)), 0, 'the app\'s own origin logs in there')
  })

  it('refuses origins that are not exactly an allowed one, and malformed Origin headers', async () => {
    app = await startHostApp()
    const cookie = await app.login('anna', 'anna-pw')
    const port = new URL(app.origin).port
    for (const origin of [
      `https://127.0.0.1:${port}`, // another scheme
      `http://localhost:${port}`, // another host name for the same machine
      'null', // sandboxed frames and file: pages
      `${app.origin}, http://evil.example`, // two Origin headers, joined
      'not a url',
      'http://127.0.0.1:1'
    ]) {
      assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), browserLike(app, cookie, origin)), 5, `origin ${origin}`)
    }
    assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), browserLike(app, cookie, `${app.origin}/`.toUpperCase().replace('HTTP', 'http').slice(0, -1))), 0,
      'an origin differing only in letter case is the same origin')
  })

  it('refuses new connections after logout, and the logout ends the connections the session opened', async () => {
    app = await startHostApp()
    const cookie = await app.login('anna', 'anna-pw')
    const client = await connect(app.wsUrl(), { clientId: 'anna-tab', ...browserLike(app, cookie) })
    clients.push(client)
    const closed = new Promise<void>(resolve => client.once('close', () => resolve()))
    await app.logout(cookie)
    await closed
    await eventually(() => !app!.broker.clients().some(c => c.id === 'anna-tab'), 'the logged-out client to be gone')
    assert.equal(await connackCode(app.wsUrl(), browserLike(app, cookie)), 5)
  })

  it('refuses a session the store no longer has (expired or revoked server-side)', async () => {
    app = await startHostApp()
    const cookie = await app.login('bob', 'bob-pw')
    await new Promise<void>((resolve, reject) => app!.store.destroy(sessionIdOf(cookie), (err) => (err ? reject(err as Error) : resolve())))
    assert.equal(await connackCode(app.wsUrl(), browserLike(app, cookie)), 5)
  })

  it('leaves TCP logins to the other authenticators', async () => {
    app = await startHostApp()
    const tcp = app.broker.addresses().find(a => a.transport === 'tcp')!.url
    assert.equal(await connackCode(tcp, { username: DEVICE.username, password: DEVICE.password }), 0)
    assert.equal(await connackCode(tcp, { username: DEVICE.username, password: 'wrong' }), 4, 'the device authenticator answered, not this plugin')
    assert.equal(await connackCode(tcp, {}), 5, 'nobody accepted it: the broker default (allowAnonymous off)')
    assert.equal(app.logs.find('warn', 'Cross-Site').length, 0)
  })

  it("onNoSession 'deny' (default) refuses WebSocket password logins without a session; 'next' lets other authenticators decide", async () => {
    app = await startHostApp()
    assert.equal(await connackCode(app.wsUrl(), { username: DEVICE.username, password: DEVICE.password }), 5)
    await app.stop()
    app = await startHostApp({ sessionAuth: () => ({ onNoSession: 'next' }) })
    assert.equal(await connackCode(app.wsUrl(), { clientId: 'dev-ws', username: DEVICE.username, password: DEVICE.password, ...browserLike(app) }), 0)
    assert.equal(await connackCode(app.wsUrl(), { username: DEVICE.username, password: 'wrong', ...browserLike(app) }), 4)
    assert.equal(await connackCode(app.wsUrl(), browserLike(app)), 5, 'nobody accepted it: the broker default')
    const cookie = await app.login('anna', 'anna-pw')
    assert.equal(await connackCode(app.wsUrl(), browserLike(app, cookie)), 0, 'sessions still log in')
    assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), { username: DEVICE.username, password: DEVICE.password, ...browserLike(app, undefined, 'http://127.0.0.1:1') }), 5,
      'a foreign origin is refused on the listeners the plugin covers, whatever the credentials')
  })

  it('covers only the listeners named in `listeners`', async () => {
    app = await startHostApp({ sessionAuth: () => ({ listeners: ['express:/mqtt'] }) })
    const cookie = await app.login('anna', 'anna-pw')
    assert.equal(await connackCode(app.wsUrl('/mqtt'), browserLike(app, cookie)), 0)
    assert.equal(await connackCode(app.wsUrl('/mqtt'), { username: DEVICE.username, password: DEVICE.password }), 5, 'covered: no session, refused')
    // Not covered: the session is not a login there, and other authenticators decide.
    assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), browserLike(app, cookie)), 5)
    assert.equal(await connackCode(app.wsUrl('/mqtt-unguarded'), { clientId: 'dev', username: DEVICE.username, password: DEVICE.password, ...browserLike(app, undefined, 'http://127.0.0.1:1') }), 0)
  })

  it('loads the session without writing to the socket or the store, whatever the session options', async () => {
    app = await startHostApp({ session: { resave: true, rolling: true, saveUninitialized: true } })
    const cookie = await app.login('anna', 'anna-pw')
    const before = await new Promise<number>((resolve, reject) => app!.store.length((err, n) => (err ? reject(err as Error) : resolve(n ?? 0))))
    const stored = JSON.stringify(await new Promise((resolve, reject) => app!.store.get(sessionIdOf(cookie), (err, s) => (err ? reject(err as Error) : resolve(s)))))
    const codes: number[] = []
    for (const c of [cookie, 'connect.sid=s%3Aforged.sig', undefined]) codes.push(await connackCode(app.wsUrl(), browserLike(app, c)))
    assert.deepEqual(codes, [0, 5, 5])
    const after = await new Promise<number>((resolve, reject) => app!.store.length((err, n) => (err ? reject(err as Error) : resolve(n ?? 0))))
    assert.equal(after, before, 'no session was created by MQTT logins')
    const storedAfter = JSON.stringify(await new Promise((resolve, reject) => app!.store.get(sessionIdOf(cookie), (err, s) => (err ? reject(err as Error) : resolve(s)))))
    assert.equal(storedAfter, stored, 'the session was not saved or touched')
  })
})
