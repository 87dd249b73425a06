import assert from 'node:assert/strict'
import type mqtt from 'mqtt'
import type { ClientContext, ConnectInput } from '@embedmq/core'
import { capturePlugin, collect, connackCode, connect, eventually, startTestBroker, subackCodes, type TestBroker } from '@embedmq/testing'
import { authHttp, type AuthHttpOptionsInput } from '../src/index.js'
import { AuthService, json, policy } from './auth-service.js'

const input = (over: Partial<ConnectInput> = {}): ConnectInput => ({
  clientId: 'anna-1', connectionId: 'test-connection', username: 'anna', password: Buffer.from('secret'), protocolVersion: 4, clean: true, keepalive: 30,
  transport: 'tcp', listener: 'tcp:test', remoteAddress: '127.0.0.1', ...over
})
const anna: ClientContext = { clientId: 'anna-1', connectionId: 'conn-test', identity: { username: 'anna', roles: [], claims: {}, authenticatedBy: 'auth-http' }, transport: 'tcp', listener: 'tcp:test' }

/** Waits (bounded) until `ms` have passed since `since`: how tests let a TTL run out. */
const passed = (since: number, ms: number): Promise<void> => eventually(() => Date.now() > since + ms, `${ms} ms to pass`, ms + 5000)

describe('auth-http caching and coalescing', function () {
  let service: AuthService | undefined
  let tb: TestBroker | undefined
  const clients: mqtt.MqttClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb?.stop()
    await service?.close()
    tb = undefined
    service = undefined
  })
  const start = async (options: Partial<AuthHttpOptionsInput> = {}): Promise<{ tb: TestBroker, service: AuthService }> => {
    service = await AuthService.start(policy())
    tb = await startTestBroker({ plugins: [authHttp({ authenticate: service.url('/auth'), authorize: service.url('/acl'), ...options })] })
    return { tb, service }
  }

  it('answers a second identical login from the cache', async () => {
    const { tb, service } = await start()
    const url = tb.url('tcp')
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'anna-1' }), 0)
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'anna-1' }), 0)
    assert.equal(service.count('/auth'), 1, 'the second login came from the cache')
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'anna-2' }), 0)
    assert.equal(service.count('/auth'), 2, 'another client id is another request')
  })

  it('asks again once a cached login\'s TTL ran out', async () => {
    const { tb, service } = await start({ cache: { authenticate: { allowTtlMs: 300 } } })
    const url = tb.url('tcp')
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'anna-1' }), 0)
    await passed(Date.now(), 300) // the decision was cached before this
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'anna-1' }), 0)
    assert.equal(service.count('/auth'), 2, 'after the TTL the service is asked again')
  })

  it('caches denies with their own TTL (0 = never)', async () => {
    const { tb, service } = await start({ cache: { authenticate: { denyTtlMs: 0 } } })
    const url = tb.url('tcp')
    assert.equal(await connackCode(url, { username: 'anna', password: 'wrong', clientId: 'a' }), 4)
    assert.equal(await connackCode(url, { username: 'anna', password: 'wrong', clientId: 'a' }), 4)
    assert.equal(service.count('/auth'), 2)
  })

  it('never caches a different password: the cache key is the whole login', async () => {
    const { tb, service } = await start()
    const url = tb.url('tcp')
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'a' }), 0)
    assert.equal(await connackCode(url, { username: 'anna', password: 'secreT', clientId: 'a' }), 4)
    assert.equal(service.count('/auth'), 2)
  })

  it('answers a repeated authorization from its cache, across sessions too', async () => {
    const { tb, service } = await start()
    const url = tb.url('tcp')
    const first = await connect(url, { username: 'anna', password: 'secret', clientId: 'anna-1' })
    await first.publishAsync('sensors/anna/temp', '1', { qos: 1 })
    await first.publishAsync('sensors/anna/temp', '2', { qos: 1 })
    await first.endAsync()
    // A new session starts with an empty broker cache: the plugin's cache answers.
    const second = await connect(url, { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(second)
    await second.publishAsync('sensors/anna/temp', '3', { qos: 1 })
    assert.equal(service.count('/acl', b => b.action === 'publish'), 1)
  })

  it('asks again within a session once an authorization\'s TTL ran out', async () => {
    const { tb, service } = await start({ cache: { authorize: { allowTtlMs: 1000 } } })
    const client = await connect(tb.url('tcp'), { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(client)
    await client.publishAsync('sensors/anna/temp', '1', { qos: 1 })
    await passed(Date.now(), 1000)
    // The plugin emptied the broker's cache for the client when the decision expired.
    await eventually(() => {
      void client.publishAsync('sensors/anna/temp', 'again', { qos: 1 })
      return service.count('/acl', b => b.action === 'publish') === 2
    }, 'the expired publish decision to be asked again')
  })

  it('revokes within the TTL: a decision the service changed applies once the old one expires', async () => {
    let open = true
    const { tb, service } = await start({ cache: { authorize: { allowTtlMs: 1000 } } })
    service.handler = (req, res) => (req.path === '/acl' ? json(res, 200, { result: open || req.body.topic !== 'plant/line1' ? 'allow' : 'deny' }) : policy()(req, res))
    const watcher: string[] = []
    await tb.broker.subscribe('#', m => { watcher.push(m.payload.toString()) })
    const client = await connect(tb.url('tcp'), { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(client)
    await client.publishAsync('plant/line1', 'while-open', { qos: 1 })
    await eventually(() => watcher.includes('while-open'), 'the allowed publish routed')
    open = false
    const at = Date.now()
    await passed(at, 1000)
    await eventually(() => {
      void client.publishAsync('plant/line1', 'probe', { qos: 1 })
      return service.count('/acl', b => b.action === 'publish') >= 2
    }, 'the publish to be checked again')
    const before = watcher.length
    await client.publishAsync('plant/line1', 'after-revoke', { qos: 1 })
    // The same client's next publish, to a topic still open: once it is routed, the one before it has been.
    await client.publishAsync('sensors/anna/ok', 'sentinel', { qos: 1 })
    await eventually(() => watcher.includes('sentinel'), 'the sentinel routed')
    assert.ok(!watcher.slice(before).includes('after-revoke'), 'a publish after revocation was delivered')
  })

  it('applies a permission change at once after plugin.invalidate()', async () => {
    service = await AuthService.start(policy())
    let open = true
    service.handler = (req, res) => (req.path === '/acl' ? json(res, 200, { result: open || req.body.topic !== 'plant/line1' ? 'allow' : 'deny' }) : policy()(req, res))
    const plugin = authHttp({ authenticate: service.url('/auth'), authorize: service.url('/acl') })
    tb = await startTestBroker({ plugins: [plugin] })
    const watcher: string[] = []
    await tb.broker.subscribe('#', m => { watcher.push(m.payload.toString()) })
    const client = await connect(tb.url('tcp'), { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(client)
    await client.publishAsync('plant/line1', 'while-open', { qos: 1 })
    await eventually(() => watcher.includes('while-open'), 'the allowed publish routed')
    open = false
    plugin.invalidate()
    await client.publishAsync('plant/line1', 'after-invalidate', { qos: 1 })
    await client.publishAsync('sensors/anna/ok', 'sentinel', { qos: 1 })
    await eventually(() => watcher.includes('sentinel'), 'the sentinel routed')
    assert.ok(!watcher.includes('after-invalidate'))
    assert.equal(service.count('/acl', b => b.topic === 'plant/line1'), 2)
  })

  it('never caches failures', async () => {
    const { tb, service } = await start()
    service.handler = (_req, res) => json(res, 500, { error: 'db down' })
    const url = tb.url('tcp')
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'a' }), 3)
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'a' }), 3)
    assert.equal(service.count('/auth'), 2)
    service.handler = policy()
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'a' }), 0, 'a recovered service is asked at once')
  })

  it('coalesces concurrent identical checks into one request', async () => {
    service = await AuthService.start(policy())
    const held: Array<() => void> = []
    service.handler = (req, res) => new Promise<void>((resolve) => {
      held.push(() => { void Promise.resolve(policy()(req, res)).then(resolve) })
    })
    const { authenticators, authorizers } = await capturePlugin(authHttp({ authenticate: service.url('/auth'), authorize: service.url('/acl'), timeoutMs: 10_000 }))
    const logins = Array.from({ length: 5 }, () => authenticators[0]!.authenticate(input()))
    const publishes = Array.from({ length: 5 }, () => authorizers[0]!.authorizePublish!(anna, { topic: 'sensors/anna/t', payload: Buffer.alloc(0), qos: 0, retain: false }))
    await eventually(() => held.length === 2, 'one login and one publish request to arrive')
    held.splice(0).forEach(release => release())
    assert.deepEqual((await Promise.all(logins)).map(a => a.outcome), Array(5).fill('allow'))
    assert.deepEqual((await Promise.all(publishes)).map(a => a.outcome), Array(5).fill('allow'))
    assert.equal(service.count('/auth'), 1)
    assert.equal(service.count('/acl'), 1)
    // Answered from the cache now, synchronously.
    const cached = authorizers[0]!.authorizePublish!(anna, { topic: 'sensors/anna/t', payload: Buffer.alloc(0), qos: 0, retain: false })
    assert.equal((cached as { outcome: string }).outcome, 'allow')
  })

  it('bounds the cache: the least recently used entry goes first', async () => {
    const { tb, service } = await start({ cache: { authenticate: { maxEntries: 2 } } })
    const url = tb.url('tcp')
    for (const id of ['a', 'b', 'c']) assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: id }), 0)
    assert.equal(service.count('/auth'), 3)
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'c' }), 0)
    assert.equal(service.count('/auth'), 3, 'c is cached')
    assert.equal(await connackCode(url, { username: 'anna', password: 'secret', clientId: 'a' }), 0)
    assert.equal(service.count('/auth'), 4, 'a was evicted')
  })

  it('keeps delivering a read-granted topic after its TTL while the decision refreshes', async () => {
    // A stale decision is used for one more TTL at most: 2 s leaves this test ample room.
    const { tb, service } = await start({ cache: { authorize: { allowTtlMs: 2000 } } })
    const client = await connect(tb.url('tcp'), { username: 'anna', password: 'secret', clientId: 'anna-1' })
    clients.push(client)
    assert.deepEqual(await subackCodes(client, ['sensors/anna/temp'], 1), [1])
    const at = Date.now()
    const first = collect(client, 1)
    await tb.broker.publish('sensors/anna/temp', 'fresh', { qos: 1 })
    assert.deepEqual((await first).map(m => m.payload), ['fresh'])
    await passed(at, 2000)
    // Past its TTL the decision is stale: the delivery still goes through while a refresh is requested.
    const after = collect(client, 1)
    await tb.broker.publish('sensors/anna/temp', 'after-ttl', { qos: 1 })
    assert.deepEqual((await after).map(m => m.payload), ['after-ttl'])
    await eventually(() => service.count('/acl', b => b.action === 'read') === 2, 'a background refresh of the read decision')
  })
})
