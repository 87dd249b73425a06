import assert from 'node:assert/strict'
import type mqtt from 'mqtt'
import { connackCode, connect, startTestBroker, subackCodes, type TestBroker } from '@embedmq/testing'
import { authHttp } from '../src/index.js'
import { AuthService, json, policy } from './auth-service.js'

describe('what the service receives', () => {
  let service: AuthService
  let tb: TestBroker
  const clients: mqtt.MqttClient[] = []
  beforeEach(async () => {
    service = await AuthService.start(policy())
    tb = await startTestBroker({
      plugins: [authHttp({
        authenticate: { url: service.url('/auth'), headers: { 'x-endpoint': 'login' } },
        authorize: { url: service.url('/acl'), method: 'PUT' },
        headers: { authorization: 'Bearer shared-secret' }
      })]
    })
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb.stop()
    await service.close()
  })

  it('POSTs the login as JSON with the configured headers', async () => {
    assert.equal(await connackCode(tb.url('ws'), { username: 'anna', password: 'secret', clientId: 'anna-ws', keepalive: 42 }), 0)
    const r = service.requests[0]!
    assert.equal(r.method, 'POST')
    assert.equal(r.headers['content-type'], 'application/json')
    assert.equal(r.headers.authorization, 'Bearer shared-secret')
    assert.equal(r.headers['x-endpoint'], 'login')
    assert.deepEqual({ ...r.body, listener: typeof r.body.listener, remoteAddress: typeof r.body.remoteAddress }, {
      clientId: 'anna-ws', username: 'anna', password: 'secret', passwordEncoding: 'utf8', transport: 'ws',
      listener: 'string', remoteAddress: 'string', protocolVersion: 4, clean: true, keepalive: 42, certificate: null
    })
  })

  it('sends a password that is not UTF-8 as base64, so different bytes never compare equal', async () => {
    await connackCode(tb.url('tcp'), { username: 'anna', password: Buffer.from([0xff, 0xfe, 0x41]) as unknown as string })
    assert.deepEqual([service.requests[0]!.body.password, service.requests[0]!.body.passwordEncoding], ['//5B', 'base64'])
  })

  it('sends null for a missing username and password', async () => {
    await connackCode(tb.url('tcp'), { clientId: 'nobody' })
    assert.deepEqual([service.requests[0]!.body.username, service.requests[0]!.body.password, service.requests[0]!.body.passwordEncoding], [null, null, null])
  })

  it('PUTs authorization checks with client id, username, action and topic (the filter for subscribe)', async () => {
    const client = await connect(tb.url('tcp'), { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(client)
    await client.publishAsync('sensors/anna/temp', '1', { qos: 1 })
    await subackCodes(client, ['sensors/anna/#'])
    const acl = service.requests.filter(r => r.path === '/acl')
    assert.ok(acl.every(r => r.method === 'PUT' && r.headers.authorization === 'Bearer shared-secret' && r.headers['x-endpoint'] === undefined))
    assert.deepEqual(acl.map(r => r.body), [
      { clientId: 'anna-1', username: 'anna', action: 'publish', topic: 'sensors/anna/temp' },
      { clientId: 'anna-1', username: 'anna', action: 'subscribe', topic: 'sensors/anna/#' }
    ])
  })

  it('asks with the username the login answer assigned', async () => {
    service.handler = (req, res) => (req.path === '/auth' ? json(res, 200, { result: 'allow', username: 'tenant1/anna' }) : json(res, 200, { result: 'allow' }))
    const client = await connect(tb.url('tcp'), { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(client)
    await client.publishAsync('t', '1', { qos: 1 })
    assert.equal(service.requests.find(r => r.path === '/acl')!.body.username, 'tenant1/anna')
  })
})
