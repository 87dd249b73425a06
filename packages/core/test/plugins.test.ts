import 'reflect-metadata'
import assert from 'node:assert/strict'
import { inject, injectable } from 'tsyringe'
import { z } from 'zod'
import {
  allow, authenticated, createBroker, deny, drop, isEmbedmqError, next, proceed, refuse, silentLogger, Tokens,
  type Authenticator, type Broker, type ClientContext, type Logger, type Plugin
} from '../src/index.js'
import { collect, connackCode, connect, eventually, startBroker, subackCodes } from './helpers.js'

const running: Broker[] = []
async function start (options: Parameters<typeof startBroker>[0]): ReturnType<typeof startBroker> {
  const started = await startBroker(options)
  running.push(started.broker)
  return started
}
afterEach(async () => { await Promise.all(running.splice(0).map(b => b.stop())) })

function plugin (name: string, register: Plugin['register'], extra: Partial<Plugin> = {}): Plugin {
  return { name, register, ...extra }
}

describe('authentication chain', () => {
  it('runs authenticators by priority, highest first, ties in registration order', async () => {
    const calls: string[] = []
    const recorder = (label: string): Authenticator => ({ authenticate: () => { calls.push(label); return next() } })
    const { url } = await start({
      allowAnonymous: true,
      plugins: [
        plugin('low', ctx => ctx.addAuthenticator(recorder('low'), { priority: 0 })),
        plugin('high', ctx => ctx.addAuthenticator(recorder('high'), { priority: 10 })),
        plugin('mid-a', ctx => ctx.addAuthenticator(recorder('mid-a'), { priority: 5 })),
        plugin('mid-b', ctx => ctx.addAuthenticator(recorder('mid-b'), { priority: 5 }))
      ]
    })
    assert.equal(await connackCode(url), 0)
    assert.deepEqual(calls, ['high', 'mid-a', 'mid-b', 'low'])
  })

  it('stops at the first allow or deny; later links are not asked', async () => {
    const asked: string[] = []
    const { url } = await start({
      plugins: [plugin('chain', ctx => {
        ctx.addAuthenticator({ authenticate: () => { asked.push('first'); return next() } }, { priority: 3 })
        ctx.addAuthenticator({
          authenticate: (input) => { asked.push('second'); return input.password?.toString() === 'secret' ? authenticated() : refuse(4, 'bad password') }
        }, { priority: 2 })
        ctx.addAuthenticator({ authenticate: () => { asked.push('third'); return authenticated() } }, { priority: 1 })
      })]
    })
    assert.equal(await connackCode(url, { username: 'op', password: 'wrong' }), 4)
    assert.deepEqual(asked, ['first', 'second'])
    assert.equal(await connackCode(url, { username: 'op', password: 'secret' }), 0)
  })

  it('lets the default decide when every link says next: deny unless allowAnonymous', async () => {
    const nexter = plugin('nexter', ctx => ctx.addAuthenticator({ authenticate: () => next() }))
    const closed = await start({ plugins: [nexter] })
    assert.equal(await connackCode(closed.url), 5)
    assert.equal(closed.log.find('info', 'allowAnonymous is false').length, 1)
    const open = await start({ allowAnonymous: true, plugins: [{ ...nexter }] })
    assert.equal(await connackCode(open.url), 0)
  })

  it('denies and logs when a link throws, and keeps serving', async () => {
    const { url, log, broker } = await start({
      plugins: [plugin('flaky', ctx => ctx.addAuthenticator({
        authenticate: (input) => { if (input.username === 'boom') throw new Error('backend exploded'); return authenticated() }
      }))]
    })
    assert.equal(await connackCode(url, { username: 'boom' }), 5)
    const lines = log.find('error', 'threw during authenticate')
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.fields.plugin, 'flaky')
    assert.match(lines[0]!.msg, /backend exploded/)
    assert.equal(await connackCode(url, { username: 'fine' }), 0)
    assert.equal(broker.state, 'running')
  })

  it('denies and logs when a link hangs past its timeout, and keeps serving', async () => {
    const { url, log } = await start({
      plugins: [plugin('hangs', ctx => ctx.addAuthenticator({
        authenticate: (input) => input.username === 'slow' ? new Promise(() => undefined) : authenticated()
      }, { timeoutMs: 150 }))]
    })
    assert.equal(await connackCode(url, { username: 'slow' }), 5)
    const lines = log.find('error', 'did not answer authenticate within 150 ms')
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.fields.plugin, 'hangs')
    assert.equal(await connackCode(url, { username: 'quick' }), 0)
  })

  it('hands the identity an authenticator gave to authorizers', async () => {
    const seen: ClientContext[] = []
    const { url } = await start({
      plugins: [
        plugin('login', ctx => ctx.addAuthenticator({ authenticate: () => authenticated({ username: 'alice', roles: ['operator'], claims: { site: 'berlin' } }) })),
        plugin('acl', ctx => ctx.addAuthorizer({ authorizeSubscribe: (client) => { seen.push(client); return allow() } }))
      ]
    })
    const client = await connect(url, { username: 'ignored-by-login', clientId: 'dash-1' })
    await client.subscribeAsync('plant/#')
    await client.endAsync()
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.clientId, 'dash-1')
    assert.deepEqual(seen[0]!.identity, { username: 'alice', roles: ['operator'], claims: { site: 'berlin' }, authenticatedBy: 'login' })
    assert.equal(seen[0]!.transport, 'tcp')
  })
})

describe('authorization chain', () => {
  const acl = plugin('acl', ctx => ctx.addAuthorizer({
    authorizePublish: (_c, req) => req.topic.startsWith('open/') ? allow() : req.topic.startsWith('closed/') ? deny('closed area') : next(),
    authorizeSubscribe: (_c, req) => req.filter.startsWith('secret/') ? deny() : req.filter.startsWith('open/') ? allow() : next()
  }))

  it('drops a denied publish without delivering it, and keeps the publisher connected', async () => {
    const { url, log } = await start({ allowAnonymous: true, plugins: [acl] })
    const sub = await connect(url)
    await sub.subscribeAsync('#', { qos: 1 })
    const pub = await connect(url)
    const got = collect(sub, 1)
    await pub.publishAsync('closed/door', 'x', { qos: 1 })
    await pub.publishAsync('open/door', 'y', { qos: 1 })
    assert.deepEqual(await got, [{ topic: 'open/door', payload: 'y' }])
    assert.equal(pub.connected, true)
    assert.equal(log.find('info', 'denied publish to "closed/door"').length, 1)
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })

  it('disconnects the publisher instead when onDeniedPublish is "disconnect"', async () => {
    const { url } = await start({ allowAnonymous: true, plugins: [acl], authorization: { onDeniedPublish: 'disconnect' } })
    const pub = await connect(url)
    const closed = new Promise<void>(resolve => pub.once('close', () => resolve()))
    pub.publish('closed/door', 'x', { qos: 1 })
    await closed
    pub.end(true)
  })

  it('answers SUBACK 0x80 to a denied subscription', async () => {
    const { url } = await start({ allowAnonymous: true, plugins: [acl] })
    const client = await connect(url)
    assert.deepEqual(await subackCodes(client, ['secret/plans', 'open/#']), [128, 0])
    await client.endAsync()
  })

  it('uses the default when every authorizer says next (allowUnmatchedAuthorization)', async () => {
    const strict = await start({ allowAnonymous: true, allowUnmatchedAuthorization: false, plugins: [{ ...acl }] })
    const client = await connect(strict.url)
    assert.deepEqual(await subackCodes(client, ['other/topic', 'open/#']), [128, 0])
    await client.endAsync()
  })

  it('fails closed when an authorizer throws', async () => {
    const { url, log } = await start({
      allowAnonymous: true,
      plugins: [plugin('broken-acl', ctx => ctx.addAuthorizer({ authorizeSubscribe: () => { throw new Error('rules unreadable') } }))]
    })
    const client = await connect(url)
    assert.deepEqual(await subackCodes(client, ['anything']), [128])
    assert.equal(log.find('error', 'threw during authorizeSubscribe').length, 1)
    await client.endAsync()
  })

  it('keeps a wildcard subscription from reading topics the read ACL closes', async () => {
    const { url } = await start({
      plugins: [
        plugin('login', ctx => ctx.addAuthenticator({ authenticate: (input) => authenticated({ username: input.username }) })),
        plugin('read-acl', ctx => ctx.addAuthorizer({
          authorizeRead: (client, topic) => topic.startsWith(`sensors/${client.identity.username}/`) ? allow() : deny()
        }))
      ]
    })
    const anna = await connect(url, { username: 'anna' })
    await anna.subscribeAsync('#', { qos: 1 })
    const got = collect(anna, 2)
    const plant = await connect(url, { username: 'plant' })
    await plant.publishAsync('sensors/bob/temp', 'bob-1', { qos: 1 })
    await plant.publishAsync('sensors/anna/temp', 'anna-1', { qos: 1 })
    await plant.publishAsync('alarms/all', 'x', { qos: 1 })
    await plant.publishAsync('sensors/anna/hum', 'anna-2', { qos: 1 })
    assert.deepEqual(await got, [{ topic: 'sensors/anna/temp', payload: 'anna-1' }, { topic: 'sensors/anna/hum', payload: 'anna-2' }])
    await Promise.all([anna.endAsync(), plant.endAsync()])
  })

  it('caches decisions per client and forgets them on invalidateAuthorizations()', async () => {
    let allowed = true
    let asked = 0
    const { url, broker } = await start({
      allowAnonymous: true,
      plugins: [plugin('switch', ctx => ctx.addAuthorizer({ authorizePublish: () => { asked++; return allowed ? allow() : deny() } }))]
    })
    const sub = await connect(url)
    await sub.subscribeAsync('t', { qos: 1 })
    const pub = await connect(url)
    const first = collect(sub, 2)
    await pub.publishAsync('t', '1', { qos: 1 })
    await pub.publishAsync('t', '2', { qos: 1 })
    assert.equal((await first).length, 2)
    assert.equal(asked, 1)
    allowed = false
    broker.invalidateAuthorizations()
    const none = collect(sub, 1, 300)
    await pub.publishAsync('t', '3', { qos: 1 })
    await assert.rejects(none, /expected 1 messages, got 0/)
    assert.equal(asked, 2)
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })
})

describe('publish interceptors and connection listeners', () => {
  it('rewrites, drops, and fails closed (drops) when an interceptor throws', async () => {
    const { url, log } = await start({
      allowAnonymous: true,
      plugins: [plugin('rewrite', ctx => {
        ctx.addPublishInterceptor({ intercept: (m) => m.topic === 'raw/temp' ? proceed({ topic: 'clean/temp', payload: Buffer.from(`${m.payload.toString()}C`) }) : proceed() }, { priority: 2 })
        ctx.addPublishInterceptor({ intercept: (m) => m.topic === 'spam' ? drop('spam') : proceed() }, { priority: 1 })
        ctx.addPublishInterceptor({ intercept: (m) => { if (m.topic === 'bad') throw new Error('parser bug'); return proceed() } })
      })]
    })
    const sub = await connect(url)
    await sub.subscribeAsync('#', { qos: 1 })
    const pub = await connect(url)
    const got = collect(sub, 2)
    await pub.publishAsync('spam', 'x', { qos: 1 })
    await pub.publishAsync('bad', 'x', { qos: 1 })
    await pub.publishAsync('raw/temp', '21', { qos: 1 })
    await pub.publishAsync('ok', 'fine', { qos: 0 })
    assert.deepEqual(await got, [{ topic: 'clean/temp', payload: '21C' }, { topic: 'ok', payload: 'fine' }])
    assert.equal(log.find('error', 'threw during intercept').length, 1)
    assert.equal(pub.connected, true)
    await Promise.all([sub.endAsync(), pub.endAsync()])
  })

  it('tells connection listeners about connects and disconnects; a failing listener does not affect clients', async () => {
    const events: string[] = []
    const { url, log } = await start({
      allowAnonymous: true,
      plugins: [plugin('audit', ctx => {
        ctx.addConnectionListener({ onConnect: () => { throw new Error('audit db down') } })
        ctx.addConnectionListener({
          onConnect: (c) => { events.push(`in:${c.clientId}`) },
          onDisconnect: async (c) => { events.push(`out:${c.clientId}`) }
        })
      })]
    })
    const client = await connect(url, { clientId: 'press-7' })
    assert.equal(client.connected, true)
    await client.endAsync()
    await eventually(() => events.length === 2, 'disconnect event')
    assert.deepEqual(events, ['in:press-7', 'out:press-7'])
    assert.equal(log.find('error', 'failed in onConnect').length, 1)
  })
})

describe('plugin host', () => {
  async function startError (plugins: Plugin[]): Promise<unknown> {
    const broker = createBroker({ logger: silentLogger, plugins })
    try {
      await broker.start()
    } catch (err) {
      assert.equal(broker.state, 'stopped')
      return err
    }
    await broker.stop()
    assert.fail('start should have failed')
  }
  const noop = (): void => undefined

  it('fails start with EMBEDMQ_PLUGIN_DUPLICATE_NAME for two plugins of one name', async () => {
    const err = await startError([plugin('auth', noop), plugin('auth', noop)])
    assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_DUPLICATE_NAME'))
    assert.match(err.message, /"auth"/)
  })

  it('fails start with EMBEDMQ_PLUGIN_MISSING_DEPENDENCY naming both plugins', async () => {
    const err = await startError([plugin('acl', noop, { dependsOn: ['users'] })])
    assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_MISSING_DEPENDENCY'))
    assert.match(err.message, /"acl" depends on "users"/)
  })

  it('fails start with EMBEDMQ_PLUGIN_DEPENDENCY_CYCLE showing the cycle', async () => {
    const err = await startError([
      plugin('a', noop, { dependsOn: ['b'] }), plugin('b', noop, { dependsOn: ['c'] }), plugin('c', noop, { dependsOn: ['a'] })
    ])
    assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_DEPENDENCY_CYCLE'))
    assert.match(err.message, /a -> b -> c -> a/)
  })

  it('fails start with EMBEDMQ_PLUGIN_INVALID_OPTIONS naming the field', async () => {
    const err = await startError([{
      name: 'webhook', register: noop, optionsSchema: z.object({ url: z.url(), retries: z.number().int() }), options: { url: 'http://x.example', retries: 'three' }
    }])
    assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS'))
    assert.match(err.message, /plugin "webhook" has invalid options: retries:/)
  })

  it('fails start with EMBEDMQ_PERSISTENCE_UNAVAILABLE naming the provider when its store cannot open', async () => {
    const err = await startError([plugin('store', ctx => ctx.providePersistence({
      name: 'flaky-db', createPersistence: () => { throw new Error('connect ECONNREFUSED 127.0.0.1:1') }
    }))])
    assert.ok(isEmbedmqError(err, 'EMBEDMQ_PERSISTENCE_UNAVAILABLE'))
    assert.match(err.message, /persistence "flaky-db" could not start: connect ECONNREFUSED/)
  })

  it('registers and starts in dependency order, stops in reverse, and undoes a failed start', async () => {
    const trail: string[] = []
    const tracked = (name: string, dependsOn: string[] = [], failStart = false): Plugin => ({
      name,
      dependsOn,
      register: () => { trail.push(`register:${name}`) },
      start: () => { if (failStart) throw new Error('no license'); trail.push(`start:${name}`) },
      stop: () => { trail.push(`stop:${name}`) }
    })
    const { broker } = await start({ plugins: [tracked('bridge', ['store']), tracked('store'), tracked('metrics', ['bridge'])] })
    await broker.stop()
    assert.deepEqual(trail, [
      'register:store', 'register:bridge', 'register:metrics',
      'start:store', 'start:bridge', 'start:metrics',
      'stop:metrics', 'stop:bridge', 'stop:store'
    ])
    trail.length = 0
    const err = await startError([tracked('store'), tracked('licensed', ['store'], true)])
    assert.ok(isEmbedmqError(err, 'EMBEDMQ_PLUGIN_START_FAILED'))
    assert.match(err.message, /plugin "licensed" failed during start: no license/)
    assert.deepEqual(trail, ['register:store', 'register:licensed', 'start:store', 'stop:store'])
  })

  it('constructs plugin classes with tsyringe, injecting core services; brokers do not share containers', async () => {
    @injectable()
    class TokenAuthenticator implements Authenticator {
      constructor (@inject(Tokens.Logger) readonly log: Logger, @inject(Tokens.PluginOptions) readonly options: { token: string }) {}
      authenticate (input: { password?: Buffer }): ReturnType<Authenticator['authenticate']> {
        return input.password?.toString() === this.options.token ? authenticated() : refuse(4)
      }
    }
    const tokenAuth = (token: string): Plugin => ({ name: 'token-auth', options: { token }, register: ctx => ctx.addAuthenticator(TokenAuthenticator) })
    const a = await start({ plugins: [tokenAuth('alpha')] })
    const b = await start({ plugins: [tokenAuth('beta')] })
    assert.equal(await connackCode(a.url, { username: 'u', password: 'alpha' }), 0)
    assert.equal(await connackCode(a.url, { username: 'u', password: 'beta' }), 4)
    assert.equal(await connackCode(b.url, { username: 'u', password: 'beta' }), 0)
    assert.notEqual(a.broker.container, b.broker.container)
    assert.equal(a.broker.container.resolve(Tokens.BrokerApi), a.broker)
    assert.equal(b.broker.container.resolve(Tokens.BrokerApi), b.broker)
  })
})
