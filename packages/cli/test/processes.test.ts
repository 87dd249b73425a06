import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { closeClients, connectClient, nextMessage } from './support/net.js'
import { CliProcess, killAll } from './support/process.js'
import { deleteKeys, REDIS_URL, redisAvailable } from './support/redis.js'

// Three separate `embedmq start` processes (no --workers), each on its own ports, sharing one
// Redis and key prefix through @embedmq/persistence-redis: one cluster. Needs Redis on 127.0.0.1:6379.

/** Resolves when `client`'s connection closes; fails after `ms`. */
function closed (client: MqttClient, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.disconnected) { resolve(); return }
    const timer = setTimeout(() => reject(new Error(`connection of ${client.options.clientId ?? '?'} still open after ${ms} ms`)), ms)
    client.once('close', () => { clearTimeout(timer); resolve() })
  })
}

describe('three embedmq start processes sharing Redis (spawned)', function () {
  this.timeout(60_000)
  let dir: string
  let prefix: string
  let urls: string[]

  before(async function () {
    if (!await redisAvailable()) throw new Error(`these tests need Redis at ${REDIS_URL}`)
    dir = await mkdtemp(join(tmpdir(), 'embedmq-cli-processes-'))
    prefix = `embedmq-cli-processes-${process.pid}-${Date.now()}:`
    const file = join(dir, 'broker.yaml')
    await writeFile(file, [
      'allowAnonymous: true',
      'plugins:',
      "  - module: '@embedmq/persistence-redis'",
      `    options: { url: '${REDIS_URL}', keyPrefix: '${prefix}' }`,
      ''
    ].join('\n'))
    const brokers = [0, 1, 2].map(() => new CliProcess(['start', '-c', file, '--port', '0', '--ws-port', '0']))
    urls = await Promise.all(brokers.map(async b => (await b.url('mqtt:')).href))
  })
  afterEach(async () => { await closeClients() })
  after(async () => {
    await closeClients()
    await killAll()
    if (prefix !== undefined) await deleteKeys(prefix)
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  function url (i: number): string {
    const u = urls[i]
    if (u === undefined) throw new Error(`no broker ${i}`)
    return u
  }

  it('a client id connecting to another process closes its connection on the first (session takeover)', async () => {
    const onA = await connectClient(url(0), { clientId: 'takeover-1', clean: false })
    await onA.subscribeAsync('takeover/t', { qos: 1 })
    const aClosed = closed(onA)

    const onB = await connectClient(url(1), { clientId: 'takeover-1', clean: false })
    await aClosed
    // The session moved with its subscription: CONNACK session present, and messages from a third process arrive on B.
    assert.equal(onB.connected, true)
    const publisher = await connectClient(url(2), { clientId: 'takeover-publisher' })
    const got = nextMessage(onB, 'takeover/t')
    await publisher.publishAsync('takeover/t', 'to the new connection', { qos: 1 })
    assert.equal(await got, 'to the new connection')

    // And once more, from B to C.
    const bClosed = closed(onB)
    const onC = await connectClient(url(2), { clientId: 'takeover-1', clean: false })
    await bClosed
    assert.equal(onC.connected, true)
  })

  it('delivers across processes once per subscriber, shares retained messages, and keeps a persistent session\'s queue for its return elsewhere', async () => {
    const subs = await Promise.all([0, 1, 2].map(i => connectClient(url(i), { clientId: `proc-sub-${i}` })))
    const counts = [0, 0, 0]
    for (const [i, sub] of subs.entries()) {
      sub.on('message', topic => { if (topic === 'proc/once') counts[i] = (counts[i] ?? 0) + 1 })
      await sub.subscribeAsync('proc/+', { qos: 1 })
    }
    const pub = await connectClient(url(0), { clientId: 'proc-pub' })
    await pub.publishAsync('proc/once', 'x', { qos: 1 })
    await new Promise(resolve => setTimeout(resolve, 500))
    assert.deepEqual(counts, [1, 1, 1])

    await pub.publishAsync('proc/retained', 'kept', { qos: 1, retain: true })
    const late = await connectClient(url(2), { clientId: 'proc-late' })
    const retained = nextMessage(late, 'proc/retained')
    await late.subscribeAsync('proc/retained', { qos: 1 })
    assert.equal(await retained, 'kept')

    // A persistent session subscribes on process 1, goes away, a message is published on process 0 meanwhile,
    // and the client comes back on process 2: the queued message is delivered there.
    const away = await connectClient(url(1), { clientId: 'proc-persistent', clean: false })
    await away.subscribeAsync('proc/queued', { qos: 1 })
    await away.endAsync()
    await pub.publishAsync('proc/queued', 'while away', { qos: 1 })
    // mqtt.connect, not connectAsync: the listener must be in place before the queued message can arrive.
    const back = mqtt.connect(url(2), { clientId: 'proc-persistent', clean: false, reconnectPeriod: 0, connectTimeout: 5000 })
    try {
      assert.equal(await nextMessage(back, 'proc/queued'), 'while away')
    } finally {
      await back.endAsync(true)
    }
  })
})
