import assert from 'node:assert/strict'
import { authenticated, refuse, type Broker, type ConnectInput } from '../src/index.js'
import { makeTestPki as makePki, type TestPki } from '@embedmq/testing'
import { collect, connackCode, connect, startBroker } from './helpers.js'

describe('TLS and WSS listeners', function () {
  this.timeout(30_000)
  let pki: TestPki
  let broker: Broker | undefined
  before(() => { pki = makePki('press-7') })
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('carries MQTT over TLS and over WSS, verified against the CA', async () => {
    const started = await startBroker({
      allowAnonymous: true,
      listeners: [
        { type: 'tls', host: '127.0.0.1', port: 0, key: pki.serverKey, cert: pki.serverCert },
        { type: 'wss', host: '127.0.0.1', port: 0, key: pki.serverKey, cert: pki.serverCert }
      ]
    })
    broker = started.broker
    const [tls, wss] = broker.addresses()
    assert.match(tls!.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/)
    assert.match(wss!.url, /^wss:\/\/127\.0\.0\.1:\d+\/mqtt$/)
    const sub = await connect(wss!.url, { ca: pki.ca, rejectUnauthorized: true })
    await sub.subscribeAsync('secure/#', { qos: 1 })
    const got = collect(sub, 1)
    const pub = await connect(tls!.url, { ca: pki.ca, rejectUnauthorized: true })
    await pub.publishAsync('secure/line', 'encrypted', { qos: 1 })
    assert.deepEqual(await got, [{ topic: 'secure/line', payload: 'encrypted' }])
    assert.deepEqual(broker.clients().map(c => c.transport).sort(), ['tls', 'wss'])
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })

  it('requires a client certificate when asked, and hands the verified certificate to authenticators', async () => {
    const seen: ConnectInput[] = []
    const started = await startBroker({
      listeners: [{ type: 'tls', host: '127.0.0.1', port: 0, key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true }],
      plugins: [{
        name: 'cert-login',
        register: ctx => ctx.addAuthenticator({
          authenticate: (input) => {
            seen.push(input)
            const cn = input.peerCertificate?.subject?.CN
            return input.peerCertificateAuthorized && typeof cn === 'string' ? authenticated({ username: cn }) : refuse(5, 'no verified certificate')
          }
        })
      }]
    })
    broker = started.broker
    const url = broker.addresses()[0]!.url
    const device = await connect(url, { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert, clientId: 'device-1' })
    assert.equal(seen[0]!.transport, 'tls')
    assert.equal(seen[0]!.peerCertificate?.subject?.CN, 'press-7')
    assert.deepEqual(broker.clients().map(c => [c.id, c.username]), [['device-1', 'press-7']])
    await device.endAsync()
    // Without a certificate the TLS handshake itself is refused (rejectUnauthorized defaults to true).
    await assert.rejects(connackCode(url, { ca: pki.ca }))
    assert.equal(broker.state, 'running')
  })

  it('logs a device in by its certificate CN when the listener says certificateLogin: cn', async () => {
    const started = await startBroker({
      allowAnonymous: false,
      listeners: [{ type: 'tls', host: '127.0.0.1', port: 0, key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, certificateLogin: 'cn' }]
    })
    broker = started.broker
    const url = broker.addresses()[0]!.url
    const device = await connect(url, { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert, clientId: 'device-9', username: 'ignored', password: 'ignored' })
    assert.deepEqual(broker.clients().map(c => [c.id, c.username]), [['device-9', 'press-7']])
    await device.endAsync()
  })

  it('refuses certificateLogin without a CA to verify against, naming the field', async () => {
    await assert.rejects(startBroker({ listeners: [{ type: 'tls', port: 0, key: pki.serverKey, cert: pki.serverCert, certificateLogin: 'cn' }] }),
      /listeners\.0: certificateLogin needs requestCert: true and a ca/)
  })

  it('names the listener when a key or certificate file cannot be read', async () => {
    await assert.rejects(startBroker({ listeners: [{ type: 'tls', port: 0, keyFile: '/nonexistent/server.key', certFile: '/nonexistent/server.crt' }] }),
      /listener "tls:0": cannot read key file \/nonexistent\/server\.key/)
  })
})
