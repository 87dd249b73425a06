import assert from 'node:assert/strict'
import { collect, connect, eventually, startTestBroker, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { verifySignature, webhook, type WebhookEvent, type WebhookOptionsInput, type WebhookPlugin } from '../src/index.js'
import { closedPort, FAST_RETRY, SECRET, startReceiver, type Receiver } from './support.js'

type Endpoint = WebhookOptionsInput['endpoints'][string]

describe('webhook delivery (real broker, real HTTP receiver)', function () {
  let tb: TestBroker | undefined
  let plugin: WebhookPlugin
  const receivers: Receiver[] = []
  const clients: mqtt.MqttClient[] = []

  async function receiver (respond?: Receiver['respond']): Promise<Receiver> {
    const r = await startReceiver(respond)
    receivers.push(r)
    return r
  }

  async function broker (endpoints: Record<string, Endpoint>, extra: Partial<WebhookOptionsInput> = {}): Promise<TestBroker> {
    plugin = webhook({ statsIntervalMs: 0, ...extra, endpoints })
    tb = await startTestBroker({ allowAnonymous: true, plugins: [plugin] })
    return tb
  }

  async function client (options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
    const c = await connect(tb!.url('tcp'), options)
    clients.push(c)
    return c
  }

  const published = (events: WebhookEvent[]): WebhookEvent[] => events.filter(e => e.type === 'message.published')

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true)
    await tb?.stop()
    tb = undefined
    for (const r of receivers.splice(0)) await r.close()
  })

  it('delivers each event type with its documented fields', async () => {
    const r = await receiver()
    const b = await broker({
      all: { url: r.url, events: ['client.connected', 'client.disconnected', 'session.subscribed', 'session.unsubscribed', 'message.published'], batch: { maxWaitMs: 10 } }
    })
    const c = await client({ clientId: 'press-1', username: 'anna' })
    await c.subscribeAsync(['plant/#', 'alarms/+'], { qos: 1 })
    await c.publishAsync('plant/press-1/temp', '21.5', { qos: 1, retain: true })
    await b.broker.publish('plant/host', 'from the app')
    await c.unsubscribeAsync('alarms/+')
    await c.endAsync()
    await eventually(() => r.accepted().length === 7, 'seven events delivered')

    const events = r.accepted()
    assert.deepEqual(events.map(e => e.type), ['client.connected', 'session.subscribed', 'message.published', 'message.published', 'session.unsubscribed', 'client.disconnected', 'session.unsubscribed'])
    for (const e of events) {
      assert.match(e.id, /^[0-9a-f-]{36}$/)
      assert.equal(e.broker, b.broker.id)
      assert.ok(!Number.isNaN(Date.parse(e.ts)), e.ts)
    }
    assert.equal(new Set(events.map(e => e.id)).size, events.length, 'ids are unique')
    const [connected, subscribed, fromClient, fromApp, unsubscribed, disconnected] = events
    assert.deepEqual({ ...connected, id: '', ts: '', connectionId: typeof connected!.connectionId, remoteAddress: typeof connected!.remoteAddress },
      { id: '', ts: '', type: 'client.connected', broker: b.broker.id, clientId: 'press-1', username: 'anna', connectionId: 'string', transport: 'tcp', remoteAddress: 'string' })
    assert.deepEqual(subscribed!.subscriptions, [{ filter: 'plant/#', qos: 1 }, { filter: 'alarms/+', qos: 1 }])
    assert.equal(subscribed!.clientId, 'press-1')
    assert.deepEqual({ clientId: fromClient!.clientId, username: fromClient!.username, topic: fromClient!.topic, qos: fromClient!.qos, retain: fromClient!.retain, payload: fromClient!.payload, encoding: fromClient!.encoding },
      { clientId: 'press-1', username: 'anna', topic: 'plant/press-1/temp', qos: 1, retain: true, payload: '21.5', encoding: 'utf8' })
    assert.equal(fromApp!.clientId, undefined, 'a message the host app published has no client')
    assert.equal(fromApp!.payload, 'from the app')
    assert.deepEqual(unsubscribed!.subscriptions, [{ filter: 'alarms/+' }])
    assert.equal(disconnected!.reason, 'client sent DISCONNECT', 'the broker says why the client left')
    assert.equal(disconnected!.connectionId, connected!.connectionId)
    assert.deepEqual(events[6]!.subscriptions, [{ filter: 'plant/#' }], 'a clean session that ends reports its remaining subscriptions gone')

    const req = r.requests[0]!
    assert.equal(req.headers['content-type'], 'application/json')
    assert.equal(req.headers['x-embedmq-event-count'], String(req.body.events.length))
    assert.match(String(req.headers['x-embedmq-delivery']), /^[0-9a-f-]{36}$/)
    assert.equal(req.headers['x-embedmq-signature'], undefined, 'unsigned without a secret')
    assert.match(String(req.headers['user-agent']), /^embedmq-bridge-webhook\//)
  })

  it('topic filters select which publishes are sent ($-topics only by explicit filters)', async () => {
    const r = await receiver()
    await broker({
      alarms: { url: r.url, events: ['message.published'], topics: ['plant/+/alarm', 'office/#'], batch: { maxWaitMs: 10 } },
      everything: { url: r.url, events: ['message.published'], headers: { 'X-Which': 'everything', 'user-agent': 'custom/1' }, batch: { maxWaitMs: 10 } }
    })
    const c = await client()
    for (const topic of ['plant/a/alarm', 'plant/a/temp', 'plant/a/b/alarm', 'office', 'other/x', '$internal/x', 'office/done']) {
      await c.publishAsync(topic, topic, { qos: 1 })
    }
    await eventually(() => r.accepted().filter(e => e.topic === 'office/done').length === 2, 'both endpoints sent the last message')
    const byEndpoint = (which: boolean): string[] => r.requests.filter(q => (q.headers['x-which'] === 'everything') === which).flatMap(q => q.body.events.map(e => e.topic!))
    assert.deepEqual(byEndpoint(false), ['plant/a/alarm', 'office', 'office/done'])
    assert.deepEqual(byEndpoint(true), ['plant/a/alarm', 'plant/a/temp', 'plant/a/b/alarm', 'office', 'other/x', 'office/done'], 'the default filter "#" does not match $-topics')
    assert.deepEqual([...new Set(r.requests.map(q => q.headers['user-agent']))].sort(), ['custom/1', 'embedmq-bridge-webhook/0.1'], 'an endpoint may set its own User-Agent, in any case')
  })

  it('batches: many messages in fewer POSTs, none over maxEvents, in order', async () => {
    const r = await receiver()
    await broker({ hook: { url: r.url, events: ['message.published'], batch: { maxEvents: 5, maxWaitMs: 200 } } })
    const c = await client()
    for (let i = 0; i < 23; i++) c.publish('t', String(i))
    await eventually(() => r.accepted().length === 23, '23 events delivered')
    assert.deepEqual(r.accepted().map(e => e.payload), Array.from({ length: 23 }, (_, i) => String(i)))
    assert.ok(r.requests.length < 23, `${r.requests.length} POSTs`)
    for (const q of r.requests) {
      assert.ok(q.body.events.length <= 5, `a POST with ${q.body.events.length} events`)
      assert.equal(q.headers['x-embedmq-event-count'], String(q.body.events.length))
    }
    await eventually(() => plugin.stats().hook!.delivered === 23, 'stats count 23 delivered')
    assert.equal(plugin.stats().hook!.batches, r.requests.length)
  })

  it('retries 5xx with the same delivery id until accepted; the events arrive once', async () => {
    const r = await receiver((_req, i) => i < 2 ? 500 : (i === 2 ? { status: 503, headers: { 'Retry-After': '0' } } : 200))
    const b = await broker({ hook: { url: r.url, events: ['message.published'], retry: FAST_RETRY, batch: { maxEvents: 2, maxWaitMs: 60_000 } } })
    const c = await client()
    await c.publishAsync('a', '1', { qos: 1 })
    await c.publishAsync('a', '2', { qos: 1 })
    await eventually(() => plugin.stats().hook!.delivered > 0, 'a batch accepted')
    const ids = new Set(r.requests.map(q => q.headers['x-embedmq-delivery']))
    assert.equal(ids.size, 1, 'every attempt carries the same delivery id')
    assert.deepEqual(r.requests.map(q => q.headers['x-embedmq-attempt']), ['1', '2', '3', '4'])
    assert.deepEqual(r.requests.map(q => q.body.events.map(e => e.id)), Array(4).fill(r.requests[0]!.body.events.map(e => e.id)), 'the same events each time')
    assert.deepEqual(r.accepted().map(e => e.payload), ['1', '2'])
    const s = plugin.stats().hook!
    assert.deepEqual({ delivered: s.delivered, failedAttempts: s.failedAttempts, failed: s.failed }, { delivered: 2, failedAttempts: 3, failed: 0 })
    assert.equal(b.logs.find('warn', 'attempt 1/4 failed: HTTP 500').length, 1)
    assert.equal(b.logs.find('info', 'accepts deliveries again').length, 1)
  })

  it('does not retry a 4xx other than 408/429, logs it, and goes on with the next batch', async () => {
    const r = await receiver((_req, i) => i === 0 ? { status: 400, body: 'unknown field "events"' } : 200)
    const b = await broker({ hook: { url: r.url, events: ['message.published'], retry: FAST_RETRY, batch: { maxEvents: 1 } } })
    const c = await client()
    await c.publishAsync('a', 'refused', { qos: 1 })
    await eventually(() => plugin.stats().hook!.failed === 1, 'the batch given up')
    await c.publishAsync('a', 'accepted', { qos: 1 })
    await eventually(() => r.accepted().length === 1, 'the next batch delivered')
    assert.deepEqual(r.requests.map(q => q.body.events[0]!.payload), ['refused', 'accepted'], 'the refused batch was sent once')
    const [line] = b.logs.find('error', 'was refused')
    assert.ok(line, 'an error line')
    assert.match(line.msg, /webhook endpoint "hook" .*HTTP 400: unknown field "events".*not retried/)
    assert.equal(line.fields.plugin, 'bridge-webhook')
  })

  it('an endpoint refusing every batch cannot flood the log: one error line, every loss counted', async () => {
    const r = await receiver(() => 401)
    const b = await broker({ hook: { url: r.url, events: ['message.published'], batch: { maxEvents: 1, maxWaitMs: 0 } } })
    const c = await client()
    for (let i = 0; i < 5; i++) await c.publishAsync('a', String(i), { qos: 1 })
    await eventually(() => plugin.stats().hook!.failed === 5, 'five batches given up')
    assert.equal(r.requests.length, 5, 'each batch tried once')
    assert.equal(b.logs.find('error', 'was refused (HTTP 401)').length, 1)
    assert.equal(b.logs.find('debug', 'was refused (HTTP 401)').length, 4)
  })

  it('does not follow redirects: a 3xx is a refusal, logged with its Location', async () => {
    const r = await receiver(() => ({ status: 302, headers: { Location: 'https://elsewhere.example/hook' } }))
    const b = await broker({ hook: { url: r.url, events: ['message.published'], retry: FAST_RETRY, batch: { maxWaitMs: 0 } } })
    const c = await client()
    await c.publishAsync('a', 'x', { qos: 1 })
    await eventually(() => plugin.stats().hook!.failed === 1, 'given up')
    assert.equal(r.requests.length, 1)
    assert.match(b.logs.find('error', 'was refused')[0]!.msg, /HTTP 302 \(redirect to https:\/\/elsewhere\.example\/hook not followed\)/)
  })

  it('cuts batches at batch.maxBytes', async () => {
    const r = await receiver()
    await broker({ hook: { url: r.url, events: ['message.published'], batch: { maxEvents: 100, maxBytes: 10_000, maxWaitMs: 100 } } })
    const c = await client()
    const big = 'x'.repeat(4000)
    for (let i = 0; i < 6; i++) await c.publishAsync('big', `${i}${big}`, { qos: 1 })
    await eventually(() => r.accepted().length === 6, 'all delivered')
    assert.deepEqual(r.accepted().map(e => e.payload![0]), ['0', '1', '2', '3', '4', '5'])
    for (const q of r.requests) assert.ok(q.body.events.length <= 2, `a POST with ${q.body.events.length} events of ~4 KB`)
  })

  it('retries 429 and 408', async () => {
    const r = await receiver((_req, i) => [429, 408][i] ?? 204)
    await broker({ hook: { url: r.url, events: ['message.published'], retry: FAST_RETRY, batch: { maxWaitMs: 0 } } })
    const c = await client()
    await c.publishAsync('a', 'x', { qos: 1 })
    await eventually(() => r.accepted().length === 1, 'accepted on the third attempt')
    assert.deepEqual(r.requests.map(q => q.status), [429, 408, 204])
  })

  it('signs with HMAC-SHA256 that the exported helper verifies; a tampered body fails', async () => {
    const r = await receiver()
    await broker({ hook: { url: r.url, events: ['message.published'], secret: SECRET, batch: { maxWaitMs: 0 } } })
    const c = await client()
    await c.publishAsync('a', 'signed', { qos: 1 })
    await eventually(() => r.accepted().length === 1, 'delivered')
    const { raw, headers } = r.requests[0]!
    const header = String(headers['x-embedmq-signature'])
    assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/)
    assert.equal(verifySignature(raw, header, SECRET, 300), true)
    const tampered = Buffer.from(raw.toString().replace('signed', 'signeD'))
    assert.equal(verifySignature(tampered, header, SECRET, 300), false)
    assert.equal(verifySignature(raw, header, 'some-other-secret-value', 300), false)
  })

  it('logs its endpoints at start and its counters periodically, never the URL path (hook URLs carry tokens)', async () => {
    const r = await receiver()
    const url = `${r.url}/T0001/B0002/s3cr3t-token?key=also-secret`
    const b = await broker({ hook: { url, events: ['message.published'], topics: ['a/#'], batch: { maxWaitMs: 0 } } }, { statsIntervalMs: 50 })
    const c = await client()
    await c.publishAsync('a/b', 'x', { qos: 1 })
    await eventually(() => b.logs.find('info', 'delivered 1,').length > 0, 'a stats line')
    const origin = new URL(r.url).origin
    assert.match(b.logs.find('info', 'webhook endpoint "hook" →')[0]!.msg, new RegExp(`→ ${origin}/…: message\\.published on a/#$`))
    const [stats] = b.logs.find('info', 'delivered 1,')
    assert.match(stats!.msg, /^webhook endpoint "hook": delivered 1, failed attempts 0, failed 0, dropped 0, queued 0$/)
    assert.equal(plugin.stats().hook!.url, `${origin}/…`)
    assert.ok(!JSON.stringify(b.logs.entries).includes('s3cr3t'), 'no log line holds the token')
  })

  it('reads the secret from secretEnv, and fails start naming the field when it is unset', async () => {
    process.env.WEBHOOK_TEST_SECRET = SECRET
    const r = await receiver()
    try {
      await broker({ hook: { url: r.url, events: ['message.published'], secretEnv: 'WEBHOOK_TEST_SECRET', batch: { maxWaitMs: 0 } } })
      const c = await client()
      await c.publishAsync('a', 'x', { qos: 1 })
      await eventually(() => r.accepted().length === 1, 'delivered')
      assert.equal(verifySignature(r.requests[0]!.raw, String(r.requests[0]!.headers['x-embedmq-signature']), SECRET), true)
      await tb!.stop()
      delete process.env.WEBHOOK_TEST_SECRET
      await assert.rejects(broker({ hook: { url: r.url, events: ['message.published'], secretEnv: 'WEBHOOK_TEST_SECRET' } }),
        /endpoints\.hook\.secretEnv: the environment variable WEBHOOK_TEST_SECRET is not set/)
    } finally {
      delete process.env.WEBHOOK_TEST_SECRET
    }
  })

  it('encodes payloads as utf8 or base64, and falls back to base64 for bytes that are not UTF-8', async () => {
    const r = await receiver()
    await broker({
      text: { url: r.url, events: ['message.published'], payloadEncoding: 'utf8', headers: { 'X-Which': 'text' }, batch: { maxWaitMs: 0 } },
      b64: { url: r.url, events: ['message.published'], payloadEncoding: 'base64', headers: { 'X-Which': 'b64' }, batch: { maxWaitMs: 0 } }
    })
    const c = await client()
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41])
    await c.publishAsync('a', '°C ✓', { qos: 1 })
    await c.publishAsync('a', binary, { qos: 1 })
    await eventually(() => r.accepted().length === 4, 'both messages to both endpoints')
    const of = (which: string): WebhookEvent[] => r.requests.filter(q => q.headers['x-which'] === which).flatMap(q => q.body.events)
    const [text, bin] = of('text')
    assert.deepEqual([text!.payload, text!.encoding], ['°C ✓', 'utf8'])
    assert.equal(bin!.encoding, 'base64', 'not valid UTF-8: base64, and said so')
    assert.deepEqual(Buffer.from(bin!.payload!, 'base64'), binary)
    const [text64, bin64] = of('b64')
    assert.deepEqual([Buffer.from(text64!.payload!, 'base64').toString(), text64!.encoding], ['°C ✓', 'base64'])
    assert.deepEqual(Buffer.from(bin64!.payload!, 'base64'), binary)
  })

  it('a hung endpoint delays neither MQTT delivery nor another endpoint', async () => {
    const hung = await receiver(() => 'hold')
    const healthy = await receiver()
    await broker({
      hung: { url: hung.url, events: ['message.published'], timeoutMs: 60_000, batch: { maxEvents: 10, maxWaitMs: 0 } },
      healthy: { url: healthy.url, events: ['message.published'], batch: { maxEvents: 50, maxWaitMs: 20 } }
    }, { flushTimeoutMs: 200 })
    const subscriber = await client({ clientId: 'sub' })
    await subscriber.subscribeAsync('m/#', { qos: 1 })
    const publisher = await client({ clientId: 'pub' })
    await publisher.publishAsync('x/first', 'first', { qos: 1 })
    await eventually(() => hung.requests.length === 1, 'the hung endpoint got its first request (and holds it)')

    const count = 300
    const arriving = collect(subscriber, count, 20_000)
    for (let i = 0; i < count; i++) publisher.publish(`m/${i}`, String(i), { qos: 1 })
    const got = await arriving
    assert.deepEqual(got.map(m => Number(m.payload)).sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i), 'every message published after the hang began arrived')
    await eventually(() => published(healthy.accepted()).length === count + 1, 'the healthy endpoint got every event')
    assert.equal(hung.requests.length, 1, 'the hung endpoint still holds its first request: one batch in flight at a time')
    assert.equal(plugin.stats().hung!.queued, count)

    await tb!.stop()
    tb = undefined
    const s = plugin.stats().hung!
    assert.equal(s.undelivered, count + 1, 'what was queued and in flight is reported undelivered')
  })

  it('times out a request that gets no answer, and retries it', async () => {
    const r = await receiver((_req, i) => i === 0 ? 'hold' : 204)
    const b = await broker({ hook: { url: r.url, events: ['message.published'], timeoutMs: 300, retry: FAST_RETRY, batch: { maxWaitMs: 0 } } })
    const c = await client()
    await c.publishAsync('a', 'x', { qos: 1 })
    await eventually(() => r.accepted().length === 1, 'accepted on the second attempt')
    assert.equal(r.requests[0]!.headers['x-embedmq-delivery'], r.requests[1]!.headers['x-embedmq-delivery'])
    assert.equal(b.logs.find('warn', 'no response within timeoutMs (300 ms)').length, 1)
  })

  it('a full queue drops the oldest events, counted, with one rate-limited warn line naming the endpoint and the reason', async () => {
    const r = await receiver(() => 'hold')
    const b = await broker({ slow: { url: r.url, events: ['message.published'], timeoutMs: 60_000, maxQueue: 10, batch: { maxEvents: 1, maxWaitMs: 0 } } }, { flushTimeoutMs: 5000 })
    const c = await client()
    await c.publishAsync('q', 'first', { qos: 1 })
    await eventually(() => r.requests.length === 1, 'the first event in flight')
    for (let i = 0; i < 50; i++) await c.publishAsync('q', String(i), { qos: 1 })
    await eventually(() => plugin.stats().slow!.dropped === 40, '40 events dropped')
    assert.deepEqual({ queued: plugin.stats().slow!.queued, inFlight: plugin.stats().slow!.inFlight }, { queued: 10, inFlight: 1 })
    const warns = b.logs.find('warn', 'queue full')
    assert.equal(warns.length, 1, 'rate limited: one line for the burst')
    assert.match(warns[0]!.msg, /webhook endpoint "slow": queue full \(maxQueue 10 events\); dropped 1 oldest events/)
    assert.equal(warns[0]!.fields.endpoint, 'slow')
    assert.equal(warns[0]!.fields.reason, 'maxQueue')

    r.respond = () => 204
    r.release()
    await eventually(() => r.accepted().length === 11, 'the rest delivered once the endpoint answers')
    assert.deepEqual(r.accepted().map(e => e.payload), ['first', ...Array.from({ length: 10 }, (_, i) => String(40 + i))], 'the newest ten were kept')
  })

  it('drop-newest keeps the oldest waiting events', async () => {
    const r = await receiver(() => 'hold')
    await broker({ slow: { url: r.url, events: ['message.published'], timeoutMs: 60_000, maxQueue: 3, overflow: 'drop-newest', batch: { maxEvents: 1, maxWaitMs: 0 } } })
    const c = await client()
    await c.publishAsync('q', 'first', { qos: 1 })
    await eventually(() => r.requests.length === 1, 'the first event in flight')
    for (let i = 0; i < 6; i++) await c.publishAsync('q', String(i), { qos: 1 })
    await eventually(() => plugin.stats().slow!.dropped === 3, '3 dropped')
    r.respond = () => 204
    r.release()
    await eventually(() => r.accepted().length === 4, 'the rest delivered')
    assert.deepEqual(r.accepted().map(e => e.payload), ['first', '0', '1', '2'])
  })

  it('an endpoint that refuses connections is retried and logged, then given up; the broker keeps serving', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/hook`
    const b = await broker({ down: { url, events: ['message.published'], retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 }, batch: { maxWaitMs: 0 } } })
    const c = await client()
    await c.subscribeAsync('a', { qos: 1 })
    const arriving = collect(c, 1)
    await c.publishAsync('a', 'x', { qos: 1 })
    assert.equal((await arriving)[0]!.payload, 'x')
    await eventually(() => plugin.stats().down!.failed === 1, 'given up after 3 attempts')
    assert.equal(plugin.stats().down!.failedAttempts, 3)
    const warns = b.logs.find('warn', 'webhook endpoint "down" delivery')
    assert.equal(warns.length, 1, 'retry warnings are rate limited')
    assert.match(warns[0]!.msg, /attempt 1\/3 failed: ECONNREFUSED/)
    assert.match(b.logs.find('debug', 'webhook endpoint "down" delivery')[0]!.msg, /attempt 2\/3 failed: ECONNREFUSED/, 'the rest go to debug')
    assert.match(b.logs.find('error', 'still failing after 3 attempts')[0]!.msg, /ECONNREFUSED.*1 events dropped \(retry\.maxAttempts\)/)
    assert.equal(b.broker.state, 'running')
  })

  it('on stop, flushes what is queued without waiting for the batch to fill', async () => {
    const r = await receiver()
    const b = await broker({ hook: { url: r.url, events: ['message.published', 'client.disconnected'], batch: { maxEvents: 1000, maxWaitMs: 60_000 } } })
    const c = await client({ clientId: 'leaving' })
    for (let i = 0; i < 5; i++) await c.publishAsync('t', String(i), { qos: 1 })
    assert.equal(r.requests.length, 0, 'nothing sent yet: the batch waits for maxWaitMs')
    await b.stop()
    tb = undefined
    assert.deepEqual(r.accepted().map(e => e.payload ?? e.type), ['0', '1', '2', '3', '4', 'client.disconnected'],
      'queued events and the disconnects of the shutdown itself were sent before stop resolved')
    assert.equal(b.logs.find('info', 'stopped with nothing left to send').length, 1)
    assert.deepEqual({ queued: plugin.stats().hook!.queued, undelivered: plugin.stats().hook!.undelivered }, { queued: 0, undelivered: 0 })
  })

  it('on stop, reports what the grace period could not deliver', async () => {
    const r = await receiver(() => 503)
    const b = await broker({ hook: { url: r.url, events: ['message.published'], retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 40 }, batch: { maxEvents: 2, maxWaitMs: 0 } } }, { flushTimeoutMs: 300 })
    const c = await client()
    for (let i = 0; i < 5; i++) await c.publishAsync('t', String(i), { qos: 1 })
    await eventually(() => r.requests.length > 0, 'attempts made')
    await b.stop()
    tb = undefined
    const [line] = b.logs.find('warn', 'stopped with 5 events undelivered')
    assert.ok(line, `a warn line; got ${JSON.stringify(b.logs.entries.filter(e => e.msg.includes('stopped')).map(e => e.msg))}`)
    assert.match(line.msg, /flushTimeoutMs 300 ms; last error: HTTP 503/)
    assert.equal(plugin.stats().hook!.undelivered, 5)
  })
})
