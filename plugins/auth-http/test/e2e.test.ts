import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { next, type ClientContext, type Plugin } from '@embedmq/core'
import { collect, connackCode, connect, eventually, startTestBroker, subackCodes, TEST_TRANSPORTS, type TestBroker } from '@embedmq/testing'
import { authHttp, type AuthHttpOptionsInput } from '../src/index.js'
import { AuthService, json, policy, type Handler } from './auth-service.js'

describe('auth-http end to end', function () {
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

  const start = async (handler: Handler, options: Partial<AuthHttpOptionsInput> = {}, more: Plugin[] = []): Promise<{ tb: TestBroker, service: AuthService }> => {
    service = await AuthService.start(handler)
    tb = await startTestBroker({
      plugins: [authHttp({ authenticate: service.url('/auth'), authorize: service.url('/acl'), ...options }), ...more]
    })
    return { tb, service }
  }
  const login = async (url: string, username: string, password: string, extra: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> => {
    const client = await connect(url, { username, password, clientId: `${username}-${clients.length}`, ...extra })
    clients.push(client)
    return client
  }
  const topicsSeen = (client: mqtt.MqttClient): string[] => {
    const seen: string[] = []
    client.on('message', (topic) => seen.push(topic))
    return seen
  }

  for (const transport of TEST_TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('lets the right credentials in and refuses wrong ones with CONNACK 0x04 (deny, 401) or 0x05 (403)', async () => {
        const { tb } = await start((req, res) => {
          if (req.body.username === 'blocked') return json(res, 403, { error: 'account locked' })
          if (req.body.username === 'expired') { res.writeHead(401); res.end(); return }
          return policy()(req, res)
        })
        const url = tb.url(transport)
        assert.equal(await connackCode(url, { username: 'anna', password: 'secret' }), 0)
        assert.equal(await connackCode(url, { username: 'anna', password: 'wrong' }), 4)
        assert.equal(await connackCode(url, { username: 'expired', password: 'x' }), 4)
        assert.equal(await connackCode(url, { username: 'blocked', password: 'x' }), 5)
        assert.equal(await connackCode(url, { username: 'stranger', password: 'x' }), 5, 'ignore passes on; allowAnonymous is off')
        assert.equal(tb.logs.find('info', 'refused connection of client').length, 4)
      })

      it('delivers allowed publishes and drops denied ones for everyone', async () => {
        const { tb } = await start(policy({ subscribeRead: true }))
        const url = tb.url(transport)
        const bob = await login(url, 'bob', 'builder')
        assert.deepEqual(await subackCodes(bob, ['sensors/bob/#'], 1), [1])
        const bobSaw = topicsSeen(bob)
        const inProcess: string[] = []
        await tb.broker.subscribe('#', m => { inProcess.push(m.topic) })
        const anna = await login(url, 'anna', 'secret')
        await anna.publishAsync('sensors/bob/cmd', 'forged', { qos: 1 })
        await anna.publishAsync('sensors/anna/temp', '21', { qos: 1 })
        // Bob publishes last on his own topic: once he receives it, anything routed before it has been too.
        const last = collect(bob, 1)
        await bob.publishAsync('sensors/bob/temp', 'sentinel', { qos: 1 })
        assert.deepEqual((await last).map(m => m.payload), ['sentinel'])
        await eventually(() => inProcess.includes('sensors/bob/temp'), 'the sentinel routed in process')
        assert.deepEqual(bobSaw, ['sensors/bob/temp'])
        assert.ok(inProcess.includes('sensors/anna/temp'))
        assert.ok(!inProcess.includes('sensors/bob/cmd'), 'the denied publish reached an in-process subscriber')
        assert.equal(tb.logs.find('info', 'denied publish to "sensors/bob/cmd"').length, 1)
      })

      it('refuses a denied subscription with SUBACK 0x80 and grants allowed ones', async () => {
        const { tb } = await start(policy())
        const anna = await login(tb.url(transport), 'anna', 'secret')
        assert.deepEqual(await subackCodes(anna, ['sensors/anna/#', 'sensors/bob/#', '$SYS/#', 'sensors/anna/temp'], 1), [1, 128, 128, 1])
      })

      it('keeps a # subscriber to the topics the endpoint lets it read, by per-topic read decisions', async () => {
        const { tb, service } = await start(policy())
        const anna = await login(tb.url(transport), 'anna', 'secret')
        assert.deepEqual(await subackCodes(anna, ['#'], 1), [1])
        const seen = topicsSeen(anna)
        const payloads: string[] = []
        anna.on('message', (_t, p) => payloads.push(p.toString()))
        // Nothing is known about these topics yet: the first deliveries are withheld while the service is asked.
        await tb.broker.publish('sensors/bob/temp', 'b1', { qos: 1 })
        await tb.broker.publish('sensors/anna/temp', 'a1', { qos: 1 })
        await eventually(() => service.count('/acl', b => b.action === 'read') === 2, 'read decisions requested for both topics')
        // Once the allow is in, anna's topic is delivered; bob's never is.
        let round = 0
        await eventually(() => {
          void tb.broker.publish('sensors/bob/temp', `retry-b${++round}`, { qos: 1 })
          void tb.broker.publish('sensors/anna/temp', `retry-a${round}`, { qos: 1 })
          return seen.includes('sensors/anna/temp')
        }, 'a delivery on the allowed topic')
        const after = collect(anna, 1)
        await tb.broker.publish('sensors/bob/temp', 'again', { qos: 1 })
        await tb.broker.publish('sensors/anna/temp', 'last', { qos: 1 })
        assert.equal((await after)[0]?.topic, 'sensors/anna/temp')
        assert.ok(!seen.includes('sensors/bob/temp'), `a denied topic was delivered: ${JSON.stringify(seen)}`)
        assert.ok(!payloads.includes('a1'), 'the first delivery, before any decision was known, is withheld (fail closed)')
        assert.equal(service.count('/acl', b => b.action === 'read'), 2, 'one request per topic, then the cache answers')
      })

      it('fetches the read decision of an exact subscription before its SUBACK, so the first message arrives', async () => {
        const { tb, service } = await start(policy())
        const anna = await login(tb.url(transport), 'anna', 'secret')
        assert.deepEqual(await subackCodes(anna, ['sensors/anna/temp'], 1), [1])
        assert.equal(service.count('/acl', b => b.action === 'read' && b.topic === 'sensors/anna/temp'), 1)
        const got = collect(anna, 1)
        await tb.broker.publish('sensors/anna/temp', 'first', { qos: 1 })
        assert.deepEqual((await got).map(m => m.payload), ['first'])
      })

      it('fetches read decisions for retained topics before a wildcard SUBACK: only the allowed ones are delivered', async () => {
        const { tb } = await start(policy())
        await tb.broker.publish('sensors/bob/state', 'bob-retained', { qos: 1, retain: true })
        await tb.broker.publish('sensors/anna/state', 'anna-retained', { qos: 1, retain: true })
        const anna = await login(tb.url(transport), 'anna', 'secret')
        const seen = topicsSeen(anna)
        const first = collect(anna, 1)
        assert.deepEqual(await subackCodes(anna, ['#'], 1), [1])
        assert.deepEqual((await first).map(m => m.payload), ['anna-retained'])
        // Both decisions are cached now: a live message on each, and only anna's arrives.
        const live = collect(anna, 1)
        await tb.broker.publish('sensors/bob/state', 'bob-live', { qos: 1 })
        await tb.broker.publish('sensors/anna/state', 'anna-live', { qos: 1 })
        assert.deepEqual((await live).map(m => m.payload), ['anna-live'])
        assert.deepEqual(seen, ['sensors/anna/state', 'sensors/anna/state'])
      })
    })
  }

  it('gives the client the identity the service answered: username, roles and claims reach other authorizers', async () => {
    const seen: ClientContext[] = []
    const spy: Plugin = {
      name: 'identity-spy',
      register: (ctx) => ctx.addAuthorizer({ authorizePublish: (client) => { seen.push(client); return next() } }, { priority: 10 })
    }
    const { tb } = await start((req, res) => {
      if (req.path === '/auth') return json(res, 200, { result: 'allow', username: 'anna@acme', roles: ['operator'], claims: { site: 'north' } })
      return json(res, 200, { result: 'allow' })
    }, {}, [spy])
    const client = await login(tb.url('tcp'), 'anna', 'secret')
    await client.publishAsync('anything', 'x', { qos: 1 })
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.identity.username, 'anna@acme')
    assert.deepEqual(seen[0]!.identity.roles, ['operator'])
    assert.deepEqual(seen[0]!.identity.claims, { site: 'north' })
    assert.equal(seen[0]!.identity.authenticatedBy, 'auth-http')
  })

  it('uses the login answer\'s read grants for a persistent session\'s queued messages', async () => {
    const { tb, service } = await start(policy({ loginRead: true }))
    const url = tb.url('tcp')
    const first = await connect(url, { username: 'anna', password: 'secret', clientId: 'anna-persistent', clean: false })
    assert.deepEqual(await subackCodes(first, ['#'], 1), [1])
    await first.endAsync()
    await tb.broker.publish('sensors/bob/temp', 'queued-bob', { qos: 1 })
    await tb.broker.publish('sensors/anna/temp', 'queued-anna', { qos: 1 })
    // Listen before CONNACK: queued messages follow it at once.
    const again = mqtt.connect(url, { username: 'anna', password: 'secret', clientId: 'anna-persistent', clean: false, reconnectPeriod: 0 })
    clients.push(again)
    const got = collect(again, 1)
    assert.deepEqual((await got).map(m => m.payload), ['queued-anna'])
    // A sentinel on a granted topic: had bob's queued message been let through, it would have come before it.
    const sentinel = collect(again, 1)
    await tb.broker.publish('sensors/anna/done', 'sentinel', { qos: 1 })
    assert.deepEqual((await sentinel).map(m => m.payload), ['sentinel'])
    assert.equal(service.count('/acl', b => b.action === 'read' && b.topic === 'sensors/anna/temp'), 0, 'granted at login: no per-topic request')
  })

  it('lets an authorizer-only setup allow what the service says, with another plugin logging clients in', async () => {
    service = await AuthService.start(policy({ subscribeRead: true }))
    const door: Plugin = { name: 'door', register: (ctx) => ctx.addAuthenticator({ authenticate: (i) => (i.username === 'anna' ? { outcome: 'allow', identity: {} } : next()) }) }
    tb = await startTestBroker({ plugins: [door, authHttp({ authorize: service.url('/acl') })] })
    const anna = await connect(tb.url('ws'), { username: 'anna', clientId: 'anna-ws' })
    clients.push(anna)
    assert.deepEqual(await subackCodes(anna, ['#', 'sensors/bob/#'], 1), [1, 128])
    const got = collect(anna, 1)
    await tb.broker.publish('sensors/bob/x', 'hidden', { qos: 1 })
    await tb.broker.publish('sensors/anna/x', 'visible', { qos: 1 })
    assert.deepEqual((await got).map(m => m.payload), ['visible'])
    assert.equal(service.count('/acl', b => b.action === 'read' && b.topic === 'sensors/anna/x'), 0, 'granted with the # subscription')
  })
})
