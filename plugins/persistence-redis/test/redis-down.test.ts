import assert from 'node:assert/strict'
import { connackCode, connect, eventually, startTestBroker, type TestBroker } from '@embedmq/testing'
import { redisPersistence, type RedisPersistenceOptionsInput } from '../src/index.js'
import { Cleanup, OwnRedis, connectRecording, uniquePrefix } from './support.js'

// Redis stops mid-test (a redis-server child of the test's own, append-only file on disk) and comes
// back on the same port with its data: the broker must keep running, say so, refuse new clients,
// acknowledge nothing it could not store, and resume.
describe('persistence-redis while Redis is down', function () {
  this.timeout(60_000)
  const cleanup = new Cleanup()
  let redis: OwnRedis
  let tb: TestBroker

  async function start (extra: RedisPersistenceOptionsInput = {}): Promise<void> {
    redis = await OwnRedis.create()
    cleanup.defer(() => redis.destroy())
    tb = cleanup.add(await startTestBroker({
      allowAnonymous: true,
      plugins: [redisPersistence({ host: '127.0.0.1', port: redis.port, keyPrefix: uniquePrefix('down'), ...extra })]
    }))
  }

  afterEach(() => cleanup.run())

  it('keeps running, logs it once, refuses new clients (CONNACK 3), holds QoS 1 acks, and resumes when Redis is back', async () => {
    await start()
    const sub = await connect(tb.url('tcp'), { clientId: 'field-sub', clean: false })
    await sub.subscribeAsync('field/#', { qos: 1 })
    await sub.endAsync()
    const pub = cleanup.add(await connect(tb.url('tcp'), { clientId: 'field-pub' }))
    await pub.publishAsync('field/1', 'before', { qos: 1 })

    await redis.stop()
    await eventually(() => tb.logs.find('warn', 'connection to redis://').length > 0, 'a log line about the lost connection')
    assert.equal(await connackCode(tb.url('tcp'), { clientId: 'newcomer' }), 3, 'a new client is refused: server unavailable')
    assert.equal(await connackCode(tb.url('ws'), { clientId: 'newcomer-ws' }), 3)

    let acked = false
    const during = pub.publishAsync('field/1', 'during', { qos: 1 }).then(() => { acked = true })
    await eventually(() => tb.logs.find('error', 'failed').length > 0, 'the connection error logged')
    // Log lines are rate-limited: one error line per connection per logIntervalMs (10 s), not one per retry.
    const errorLines = tb.logs.find('error', 'failed').length
    assert.ok(errorLines <= 3, `at most one error line per connection so far, got ${errorLines}`)
    assert.equal(acked, false, 'nothing is acknowledged while it cannot be stored')
    assert.equal(tb.broker.state, 'running')

    await redis.start()
    await during
    assert.equal(acked, true)
    await eventually(() => tb.logs.find('info', 'is back').length >= 3, 'every connection back (logged)', 15_000)
    assert.equal(await connackCode(tb.url('tcp'), { clientId: 'newcomer' }), 0, 'new clients are accepted again')

    await pub.publishAsync('field/1', 'after', { qos: 1 })
    const { client: back, got } = await connectRecording(tb.url('tcp'), { clientId: 'field-sub', clean: false })
    cleanup.add(back)
    await eventually(() => got.length >= 3, 'the 3 queued messages', 10_000)
    assert.deepEqual(got.map(m => m.payload), ['before', 'during', 'after'])
  })

  it('with maxRetriesPerRequest 0, a QoS 1 publish it cannot store is not acknowledged: the client is disconnected', async () => {
    await start({ maxRetriesPerRequest: 0 })
    const sub = await connect(tb.url('tcp'), { clientId: 'strict-sub', clean: false })
    await sub.subscribeAsync('strict/#', { qos: 1 })
    await sub.endAsync()
    const pub = cleanup.add(await connect(tb.url('tcp'), { clientId: 'strict-pub' }))
    await redis.stop()
    await eventually(() => tb.logs.find('warn', 'lost').length > 0, 'the lost connection logged')

    let acked = false
    const closed = new Promise<void>(resolve => pub.once('close', () => resolve()))
    pub.publish('strict/1', 'unstorable', { qos: 1 }, (err) => { if (!err) acked = true })
    await closed
    assert.equal(acked, false, 'no PUBACK for a message that was not stored')
    assert.equal(tb.broker.state, 'running')

    await redis.start()
    await eventually(() => tb.logs.find('info', 'is back').length >= 3, 'every connection back', 15_000)
    const { client: back, got } = await connectRecording(tb.url('tcp'), { clientId: 'strict-sub', clean: false })
    cleanup.add(back)
    const pub2 = cleanup.add(await connect(tb.url('tcp'), { clientId: 'strict-pub' }))
    await pub2.publishAsync('strict/1', 'retransmitted', { qos: 1 })
    await eventually(() => got.length >= 1, 'the retransmitted message', 10_000)
    assert.deepEqual(got.map(m => m.payload), ['retransmitted'])
  })

  it('with refuseClientsWhileDown false, holds a new client\'s CONNECT until Redis is back, then serves its session', async () => {
    await start({ refuseClientsWhileDown: false })
    const first = await connect(tb.url('tcp'), { clientId: 'held', clean: false })
    await first.subscribeAsync('held/#', { qos: 1 })
    await first.endAsync()
    await redis.stop()
    await eventually(() => tb.logs.find('warn', 'lost').length > 0, 'the lost connection logged')

    let connected = false
    const pending = connectRecording(tb.url('tcp'), { clientId: 'held', clean: false, connectTimeout: 30_000 })
      .then(r => { connected = true; return r })
    await eventually(() => tb.logs.find('error', 'held until it is back').length > 0, 'the error line saying clients are held')
    assert.equal(connected, false, 'no CONNACK while the session cannot be loaded')
    await redis.start()
    const { client, got } = await pending
    cleanup.add(client)
    const pub = cleanup.add(await connect(tb.url('tcp'), { clientId: 'held-pub' }))
    await pub.publishAsync('held/1', 'served', { qos: 1 })
    await eventually(() => got.length >= 1, 'the message on the held session')
    assert.deepEqual(got.map(m => m.payload), ['served'])
  })
})
