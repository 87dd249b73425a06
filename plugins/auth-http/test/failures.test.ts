import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type mqtt from 'mqtt'
import { authenticated, next, type AuthenticationResult, type ConnectInput, type Plugin } from '@embedmq/core'
import { capturePlugin, collect, connackCode, connect, eventually, startTestBroker, subackCodes, type TestBroker } from '@embedmq/testing'
import { authHttp, type AuthHttpOptionsInput } from '../src/index.js'
import { AuthService, json, policy } from './auth-service.js'

/** Lets "ops" in whatever the HTTP service does: proves the broker keeps serving others. */
const opsDoor: Plugin = {
  name: 'ops-door',
  register: (ctx) => ctx.addAuthenticator({ authenticate: (i) => (i.username === 'ops' ? authenticated() : next()) }, { priority: 10 })
}

/** A server that accepts connections and requests and never answers. */
async function hangingServer (): Promise<{ url: string, requests: () => number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  let requests = 0
  const server = http.createServer(() => { requests++ })
  server.on('connection', (s) => { sockets.add(s); s.once('close', () => sockets.delete(s)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`,
    requests: () => requests,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

const input = (over: Partial<ConnectInput> = {}): ConnectInput => ({
  clientId: 'anna-1', connectionId: 'test-connection', username: 'anna', password: Buffer.from('secret'), protocolVersion: 4, clean: true, keepalive: 30,
  transport: 'tcp', listener: 'tcp:test', ...over
})

describe('auth-http when the service misbehaves', function () {
  let service: AuthService | undefined
  let tb: TestBroker | undefined
  const clients: mqtt.MqttClient[] = []
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb?.stop()
    await service?.close()
    for (const cleanup of cleanups.splice(0)) await cleanup()
    tb = undefined
    service = undefined
  })
  const start = async (options: Partial<AuthHttpOptionsInput> = {}, more: Plugin[] = [opsDoor]): Promise<{ tb: TestBroker, service: AuthService }> => {
    service = await AuthService.start(policy())
    tb = await startTestBroker({ plugins: [authHttp({ authenticate: service.url('/auth'), authorize: service.url('/acl'), ...options }), ...more] })
    return { tb, service }
  }
  const login = async (url: string, username: string, password?: string): Promise<mqtt.MqttClient> => {
    const client = await connect(url, { username, ...(password === undefined ? {} : { password }), clientId: `${username}-${clients.length}` })
    clients.push(client)
    return client
  }

  it('refuses logins with CONNACK 3 while the service is down, and keeps serving everyone else', async () => {
    const { tb, service } = await start()
    const url = tb.url('tcp')
    const anna = await login(url, 'anna', 'secret')
    assert.deepEqual(await subackCodes(anna, ['sensors/anna/temp'], 1), [1])
    const before = collect(anna, 1)
    await anna.publishAsync('sensors/anna/temp', 'before', { qos: 1 })
    await before
    await service.close()

    for (const transport of ['tcp', 'ws'] as const) {
      assert.equal(await connackCode(tb.url(transport), { username: 'bob', password: 'builder' }), 3, `refused over ${transport}`)
    }
    // Connected clients keep working on what they were allowed, and other authenticators still let people in.
    const got = collect(anna, 1)
    await anna.publishAsync('sensors/anna/temp', 'still-here', { qos: 1 })
    assert.deepEqual((await got).map(m => m.payload), ['still-here'])
    const ops = await login(url, 'ops')
    assert.ok(ops.connected)
    const failures = tb.logs.find('error', 'authenticate endpoint')
    assert.equal(failures.length, 1, 'two failures, one log line (rate limited)')
    assert.match(failures[0]!.msg, /connection refused \(ECONNREFUSED\).*denying \(onError: deny, fail closed\)/)
    assert.equal(tb.logs.find('info', 'refused connection of client').filter(e => e.fields.returnCode === 3).length, 2)
  })

  it('refuses a login after timeoutMs when the service hangs, and keeps serving', async () => {
    const hanging = await hangingServer()
    cleanups.push(hanging.close)
    tb = await startTestBroker({ plugins: [authHttp({ authenticate: hanging.url, timeoutMs: 300 }), opsDoor] })
    assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'secret' }), 3)
    assert.equal(await connackCode(tb.url('ws'), { username: 'anna', password: 'secret', clientId: 'other' }), 3)
    assert.equal(hanging.requests(), 2)
    assert.match(tb.logs.find('error', 'authenticate endpoint')[0]!.msg, /no complete answer within timeoutMs \(300 ms\)/)
    assert.equal(tb.logs.find('error', 'did not answer authenticate').length, 0, 'the plugin answered before the broker\'s link timeout')
    assert.equal(await connackCode(tb.url('tcp'), { username: 'ops' }), 0)
  })

  it('treats 5xx as the failure outcome: onError deny → CONNACK 3, SUBACK 0x80, publish dropped', async () => {
    const { tb, service } = await start()
    const anna = await login(tb.url('tcp'), 'anna', 'secret')
    service.handler = (_req, res) => json(res, 503, { error: 'maintenance' })
    assert.equal(await connackCode(tb.url('tcp'), { username: 'bob', password: 'builder' }), 3)
    assert.deepEqual(await subackCodes(anna, ['sensors/anna/#'], 1), [128])
    const watcher: string[] = []
    await tb.broker.subscribe('#', m => { watcher.push(m.topic) })
    await anna.publishAsync('sensors/anna/temp', 'x', { qos: 1 })
    assert.equal(tb.logs.find('info', 'denied publish to "sensors/anna/temp"').length, 1)
    assert.deepEqual(watcher, [])
  })

  it('treats 5xx as the failure outcome: onError next → the next link or the broker default decides', async () => {
    const { tb, service } = await start({ onError: 'next' })
    const anna = await login(tb.url('tcp'), 'anna', 'secret')
    service.handler = (_req, res) => json(res, 500, {})
    assert.equal(await connackCode(tb.url('tcp'), { username: 'bob', password: 'builder' }), 5, 'nobody else accepts bob: allowAnonymous off')
    assert.equal(await connackCode(tb.url('tcp'), { username: 'ops' }), 0)
    assert.deepEqual(await subackCodes(anna, ['sensors/bob/#'], 1), [1], 'allowUnmatchedAuthorization (on by default) decides')
    assert.match(tb.logs.find('error', 'authorize endpoint')[0]!.msg, /HTTP 500; passing to the next link \(onError: next\)/)
  })

  it('denies on a malformed JSON answer, with a log line saying what to fix', async () => {
    const { tb, service } = await start()
    const anna = await login(tb.url('tcp'), 'anna', 'secret')
    service.handler = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"result": "allow"') }
    assert.equal(await connackCode(tb.url('tcp'), { username: 'bob', password: 'builder' }), 5)
    assert.deepEqual(await subackCodes(anna, ['sensors/anna/x'], 1), [128])
    const auth = tb.logs.find('error', 'authenticate endpoint')[0]!
    assert.match(auth.msg, /answered malformed: the body is not JSON .*; denying\. The service must answer HTTP 200 with \{"result":"allow"\|"deny"\|"ignore"\}/)
    assert.equal(tb.logs.find('error', 'authorize endpoint').length, 1)
    assert.equal(service.count('/auth'), 2)
    assert.equal(await connackCode(tb.url('tcp'), { username: 'bob', password: 'builder' }), 5)
    assert.equal(service.count('/auth'), 3, 'a malformed answer is never cached')
  })

  it('denies an answer of the wrong shape, naming the field', async () => {
    const { tb, service } = await start()
    service.handler = (_req, res) => json(res, 200, { result: 'yes', read: ['a/#/b'] })
    assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'secret' }), 5)
    const line = tb.logs.find('error', 'answered malformed')[0]!.msg
    assert.match(line, /result: Invalid option/)
    assert.match(line, /read\.0: "a\/#\/b" is not a topic filter/)
  })

  it('stops reading a huge response at maxResponseBytes and denies', async () => {
    service = await AuthService.start(policy())
    let closedEarly = false
    service.handler = (_req, res) => new Promise<void>((resolve) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.once('close', () => { closedEarly = !res.writableFinished; resolve() })
      // An endless body: if the plugin read it all, the login would never be answered.
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const pump = (): void => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', pump) }
      res.write('{"result":"allow","pad":"')
      pump()
    })
    tb = await startTestBroker({ plugins: [authHttp({ authenticate: service.url('/auth'), maxResponseBytes: 4096, timeoutMs: 5000 })] })
    assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'secret' }), 5)
    assert.match(tb.logs.find('error', 'answered malformed')[0]!.msg, /exceeds maxResponseBytes \(4096\); stopped reading it/)
    await eventually(() => closedEarly, 'the plugin to close the connection mid-body')
  })

  it('refuses a response whose Content-Length is over the limit without reading it', async () => {
    const { tb, service } = await start({ maxResponseBytes: 1024 })
    service.handler = (_req, res) => json(res, 200, { result: 'allow', claims: { pad: 'x'.repeat(5000) } })
    assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'secret' }), 5)
    assert.match(tb.logs.find('error', 'answered malformed')[0]!.msg, /declares \d+ bytes, more than maxResponseBytes \(1024\); not read/)
  })

  it('does not follow redirects (they could carry the password elsewhere)', async () => {
    const { tb, service } = await start()
    service.handler = (req, res) => {
      if (req.path === '/auth') { res.writeHead(307, { location: service.url('/elsewhere') }); res.end(); return }
      json(res, 200, { result: 'allow' })
    }
    assert.equal(await connackCode(tb.url('tcp'), { username: 'anna', password: 'secret' }), 5)
    assert.equal(service.count('/elsewhere'), 0)
    assert.match(tb.logs.find('error', 'answered malformed')[0]!.msg, /unexpected HTTP 307 \(redirects are not followed/)
  })

  it('logs a recovery, and asks again after retryAfterErrorMs for what it denied while the service was down', async () => {
    const { tb, service } = await start({ retryAfterErrorMs: 1000 })
    const anna = await login(tb.url('tcp'), 'anna', 'secret')
    const watcher: string[] = []
    await tb.broker.subscribe('#', m => { watcher.push(m.payload.toString()) })
    service.handler = (_req, res) => json(res, 502, {})
    await anna.publishAsync('sensors/anna/temp', 'during-outage', { qos: 1 })
    await eventually(() => tb.logs.find('error', 'authorize endpoint').length === 1, 'the failure logged')
    service.handler = policy()
    await eventually(() => {
      void anna.publishAsync('sensors/anna/temp', 'after', { qos: 1 })
      return watcher.includes('after')
    }, 'the publish to be allowed once the service is back', 10_000)
    assert.ok(!watcher.includes('during-outage'))
    assert.equal(tb.logs.find('info', 'answers again after 1 failed request(s)').length, 1)
  })

  it('withholds deliveries it cannot check while the service is down (a # subscriber never gets an unchecked topic)', async () => {
    const { tb, service } = await start()
    const anna = await login(tb.url('tcp'), 'anna', 'secret')
    assert.deepEqual(await subackCodes(anna, ['#'], 1), [1])
    const seen: string[] = []
    anna.on('message', (t) => seen.push(t))
    await service.close()
    await tb.broker.publish('sensors/anna/temp', 'a', { qos: 1 })
    await tb.broker.publish('sensors/bob/temp', 'b', { qos: 1 })
    await eventually(() => tb.logs.find('error', 'authorize endpoint').length === 1, 'the read failure logged')
    // A round trip on anna's own connection: a PUBLISH sent to her before would have arrived before this SUBACK.
    assert.deepEqual(await subackCodes(anna, ['ping/pong'], 1), [128])
    assert.deepEqual(seen, [])
  })

  it('aborts requests in flight when the plugin stops', async () => {
    const hanging = await hangingServer()
    cleanups.push(hanging.close)
    const plugin = authHttp({ authenticate: hanging.url, timeoutMs: 60_000 })
    const { authenticators } = await capturePlugin(plugin)
    const answer = Promise.resolve(authenticators[0]!.authenticate(input()))
    await eventually(() => hanging.requests() === 1, 'the request to reach the server')
    await plugin.stop?.()
    let timer: NodeJS.Timeout | undefined
    const result = await Promise.race([answer, new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new Error('not aborted within 5 s')), 5000) })])
      .finally(() => clearTimeout(timer)) as AuthenticationResult
    assert.equal(result.outcome, 'deny')
    assert.match((result as { reason?: string }).reason ?? '', /the plugin is stopping/)
  })

  it('waits for a free request slot within the timeout, then fails closed', async () => {
    const hanging = await hangingServer()
    cleanups.push(hanging.close)
    const { authenticators } = await capturePlugin(authHttp({ authenticate: hanging.url, timeoutMs: 300, maxConcurrentRequests: 1 }))
    const answers = await Promise.all([authenticators[0]!.authenticate(input({ clientId: 'a' })), authenticators[0]!.authenticate(input({ clientId: 'b' }))])
    assert.deepEqual(answers.map(a => a.outcome), ['deny', 'deny'])
    assert.equal(hanging.requests(), 1, 'the second request never got a slot')
  })
})
