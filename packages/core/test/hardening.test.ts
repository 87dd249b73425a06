import assert from 'node:assert/strict'
import mqttPacket from 'mqtt-packet'
import { createBroker, MemoryLogger, type Broker, type BrokerOptions } from '../src/index.js'
import { collect, connect, eventually } from './helpers.js'
import { RawClient } from './raw.js'

const TRANSPORTS = ['tcp', 'ws'] as const

async function startOn (options: BrokerOptions = {}): Promise<{ broker: Broker, log: MemoryLogger, url: Record<'tcp' | 'ws', string> }> {
  const log = new MemoryLogger()
  const broker = createBroker({
    logger: log,
    allowAnonymous: true,
    listeners: [{ type: 'tcp', host: '127.0.0.1', port: 0 }, { type: 'ws', host: '127.0.0.1', port: 0 }],
    ...options
  })
  await broker.start()
  const [tcp, ws] = broker.addresses()
  return { broker, log, url: { tcp: tcp!.url, ws: ws!.url } }
}

const publishPacket = (topic: string, payload: Buffer | string, qos: 0 | 1 | 2 = 0, messageId?: number, dup = false): mqttPacket.IPublishPacket =>
  ({ cmd: 'publish', topic, payload, qos, retain: false, dup, ...(messageId === undefined ? {} : { messageId }) })

/** A PUBLISH with raw topic bytes (mqtt-packet would encode a string as valid UTF-8). */
function rawPublish (topic: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from('x')])
  return Buffer.concat([Buffer.from([0x30, body.length]), body])
}

describe('hardening', function () {
  this.timeout(60_000)
  let broker: Broker | undefined
  const raws: RawClient[] = []
  afterEach(async () => {
    for (const r of raws.splice(0)) r.end()
    await broker?.stop()
    broker = undefined
  })
  async function raw (url: string): Promise<RawClient> {
    const r = await RawClient.open(url)
    raws.push(r)
    return r
  }

  for (const transport of TRANSPORTS) {
    describe(`a frozen subscriber over ${transport}`, () => {
      it('does not stop delivery to others; its QoS 0 drops are counted; its disconnect with a backlog leaves the broker serving', async () => {
        const started = await startOn({ limits: { outgoing: { maxBufferedBytes: 64 * 1024 } } })
        broker = started.broker
        const frozen = await raw(started.url[transport])
        assert.equal(await frozen.connect('frozen'), 0)
        frozen.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'load/#', qos: 0 }] })
        await frozen.next('suback')
        frozen.freeze()

        const watcher = await connect(started.url[transport])
        await watcher.subscribeAsync('status/#', { qos: 1 })
        const publisher = await connect(started.url.tcp)
        const chunk = Buffer.alloc(16 * 1024, 1)
        const statuses = collect(watcher, 40, 30_000)
        for (let i = 0; i < 4000; i++) {
          publisher.publish('load/bulk', chunk, { qos: 0 })
          if (i % 100 === 0) await publisher.publishAsync('status/tick', String(i / 100), { qos: 1 })
        }
        const got = await statuses
        assert.deepEqual(got.map(m => m.payload), Array.from({ length: 40 }, (_v, i) => String(i)))

        const frozenInfo = broker.clients().find(c => c.id === 'frozen')
        assert.ok(frozenInfo && frozenInfo.droppedMessages > 0, `frozen client should have drops counted, got ${JSON.stringify(frozenInfo)}`)
        assert.equal(started.log.find('warn', 'is not reading fast enough').length >= 1, true)

        frozen.end()
        await eventually(() => !broker!.clients().some(c => c.id === 'frozen'), 'frozen client gone')
        const after = collect(watcher, 1)
        await publisher.publishAsync('status/after', 'still serving', { qos: 1 })
        assert.deepEqual(await after, [{ topic: 'status/after', payload: 'still serving' }])
        await Promise.all([watcher.endAsync(), publisher.endAsync()])
      })

      it('disconnects a subscriber whose QoS 1 backlog passes the bound, and keeps its persistent session queue', async () => {
        const started = await startOn({ limits: { outgoing: { maxQueuedMessages: 50, maxBufferedBytes: 64 * 1024 } } })
        broker = started.broker
        const frozen = await raw(started.url[transport])
        assert.equal(await frozen.connect('slow-durable', { clean: false }), 0)
        frozen.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'orders/#', qos: 1 }] })
        await frozen.next('suback')
        frozen.freeze()
        const publisher = await connect(started.url.tcp)
        const chunk = Buffer.alloc(16 * 1024, 2)
        // A frozen socket never reads the broker's FIN either, so watch the broker's side.
        const connected = (): boolean => broker!.clients().some(c => c.id === 'slow-durable')
        for (let i = 0; i < 4000 && connected(); i++) {
          await publisher.publishAsync('orders/new', Buffer.concat([Buffer.from(`${i}:`), chunk]), { qos: 1 })
        }
        await eventually(() => !connected(), 'the slow client to be disconnected')
        assert.equal(started.log.find('warn', 'disconnecting client "slow-durable": client is not reading').length, 1)

        // The session kept what was not acknowledged: the client gets it on reconnecting.
        const back = await connect(started.url[transport], { clientId: 'slow-durable', clean: false })
        const redelivered = await collect(back, 1, 10_000)
        assert.match(redelivered[0]!.payload, /^0:/)
        await Promise.all([back.endAsync(), publisher.endAsync()])
      })
    })

    describe(`input validation over ${transport}`, () => {
      const malformed: Array<[string, Buffer]> = [
        ['a topic with NUL', rawPublish(Buffer.from('a/\u0000/b'))],
        ['a topic that is not UTF-8', rawPublish(Buffer.from([0x61, 0x2f, 0xc3, 0x28]))],
        ['a wildcard in a PUBLISH topic', rawPublish(Buffer.from('a/+/b'))],
        ['an empty topic', rawPublish(Buffer.alloc(0))],
        ['a subscription filter with # in the middle', mqttPacket.generate({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'a/#/b', qos: 0 }] })],
        ['a remaining length of five bytes', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])],
        ['a PUBREL without a packet identifier (found by the fuzzer)', Buffer.from([0x62, 0x00])],
        ['a QoS 1 PUBLISH without a packet identifier (found by the fuzzer)', Buffer.from('3a11000f656d6f6a692ff09f98802ff09d849e', 'hex')]
      ]
      for (const [what, bytes] of malformed) {
        it(`closes the connection on ${what}, delivers nothing, and keeps serving`, async () => {
          const started = await startOn()
          broker = started.broker
          const sub = await connect(started.url[transport])
          await sub.subscribeAsync('#')
          const messages: string[] = []
          sub.on('message', (t) => messages.push(t))
          const bad = await raw(started.url[transport])
          assert.equal(await bad.connect('bad-actor'), 0)
          bad.send(bytes)
          assert.equal(await bad.closedWithin(5000), true, `connection should be closed for ${what}`)
          const ok = collect(sub, 1)
          const pub = await connect(started.url[transport])
          await pub.publishAsync('fine/topic', 'ok', { qos: 1 })
          assert.deepEqual(await ok, [{ topic: 'fine/topic', payload: 'ok' }])
          assert.deepEqual(messages, ['fine/topic'])
          await Promise.all([sub.endAsync(), pub.endAsync()])
        })
      }

      it('refuses a PUBLISH declaring more than maxPacketSize before its body is sent', async () => {
        const started = await startOn({ limits: { maxPacketSize: 64 * 1024 } })
        broker = started.broker
        const bad = await raw(started.url[transport])
        assert.equal(await bad.connect('big-talker'), 0)
        const header = mqttPacket.generate(publishPacket('big', Buffer.alloc(0))).subarray(0, 1)
        // Fixed header declaring 200 MB, then a few body bytes: the rest is never sent.
        bad.send(Buffer.concat([header, Buffer.from([0x80, 0x80, 0xe8, 0x5f]), Buffer.from([0x00, 0x03, 0x62, 0x69, 0x67])]))
        assert.equal(await bad.closedWithin(5000), true)
        assert.equal(started.log.find('warn', 'exceeds the maximum packet size of 65536 bytes').length, 1)
      })
    })

    describe(`QoS 2 exactly-once over ${transport}`, () => {
      it('delivers a PUBLISH and its DUPs sent in one write exactly once, and acknowledges each', async () => {
        const started = await startOn()
        broker = started.broker
        const sub = await connect(started.url.tcp)
        await sub.subscribeAsync('exactly/#', { qos: 2 })
        let deliveries = 0
        sub.on('message', () => deliveries++)
        const pub = await raw(started.url[transport])
        assert.equal(await pub.connect('qos2-publisher'), 0)
        const copies = [publishPacket('exactly/once', 'payload', 2, 42), ...Array.from({ length: 500 }, () => publishPacket('exactly/once', 'payload', 2, 42, true))]
        const first = collect(sub, 1)
        pub.send(...copies)
        for (let i = 0; i < copies.length; i++) await pub.next('pubrec')
        await first
        pub.send({ cmd: 'pubrel', messageId: 42 })
        await pub.next('pubcomp')
        // A later message may reuse the released id, and is delivered: exactly twice in all.
        const second = collect(sub, 1)
        pub.send(publishPacket('exactly/twice', 'again', 2, 42))
        await second
        assert.equal(deliveries, 2)
        await sub.endAsync()
      })
    })
  }

  describe('a subscriber leaving under a flood', () => {
    it('does not crash the broker (the emitter backlog used to recurse until the stack overflowed)', async () => {
      const started = await startOn()
      broker = started.broker
      const sub = await connect(started.url.tcp)
      await sub.subscribeAsync('flood/+', { qos: 0 })
      let received = 0
      sub.on('message', () => { received++ })
      const publishers = await Promise.all(Array.from({ length: 8 }, () => connect(started.url.tcp)))
      let flooding = true
      const floods = publishers.map(async (p, i) => {
        for (let n = 0; flooding && n < 200_000; n++) {
          p.publish(`flood/${i}`, 'x', { qos: 0 })
          if (n % 256 === 0) await new Promise(resolve => setImmediate(resolve))
        }
      })
      await eventually(() => received > 1000, 'the subscriber to receive part of the flood', 20_000)
      sub.end(true)
      await new Promise(resolve => setTimeout(resolve, 1000))
      flooding = false
      await Promise.all(floods)
      assert.equal(broker.state, 'running')
      const probe = await connect(started.url.ws)
      await probe.subscribeAsync('probe')
      const got = collect(probe, 1)
      await publishers[0]!.publishAsync('probe', 'alive', { qos: 1 })
      assert.deepEqual(await got, [{ topic: 'probe', payload: 'alive' }])
      await Promise.all([probe.endAsync(), ...publishers.map(p => p.endAsync(true))])
    })
  })

  describe('rate limits', () => {
    for (const transport of TRANSPORTS) {
    it(`throttles a client over its message rate while another client is unaffected (${transport})`, async () => {
      const started = await startOn({ limits: { rate: { messagesPerSecond: 50, burstSeconds: 1, onExceeded: 'throttle' } } })
      broker = started.broker
      const sub = await connect(started.url.tcp)
      await sub.subscribeAsync('#', { qos: 0 })
      const order: string[] = []
      sub.on('message', (topic) => order.push(topic))
      const flooder = await raw(started.url[transport])
      assert.equal(await flooder.connect('flooder'), 0)
      flooder.send(...Array.from({ length: 200 }, () => publishPacket('flood', 'x')))
      const polite = await connect(started.url.tcp)
      await eventually(() => order.includes('flood'), 'first flood message')
      await polite.publishAsync('polite', 'hello', { qos: 1 })
      await eventually(() => order.filter(t => t === 'flood').length === 200, 'every flood message, slowed but delivered', 20_000)
      assert.ok(order.indexOf('polite') < order.lastIndexOf('flood'), 'the polite message must not wait behind the flood')
      assert.equal(await flooder.closedWithin(0), false, 'throttling must not disconnect')
      await Promise.all([sub.endAsync(), polite.endAsync()])
    })
    }

    it('disconnects a client over its message rate when configured to, while another client is unaffected', async () => {
      const started = await startOn({ limits: { rate: { messagesPerSecond: 20, burstSeconds: 1, onExceeded: 'disconnect' } } })
      broker = started.broker
      const flooder = await raw(started.url.tcp)
      assert.equal(await flooder.connect('flooder'), 0)
      flooder.send(...Array.from({ length: 100 }, () => publishPacket('flood', 'x')))
      assert.equal(await flooder.closedWithin(5000), true)
      assert.equal(started.log.find('warn', 'inbound message rate exceeded').length, 1)
      const sub = await connect(started.url.tcp)
      await sub.subscribeAsync('polite')
      const got = collect(sub, 1)
      const polite = await connect(started.url.tcp)
      await polite.publishAsync('polite', 'hello', { qos: 1 })
      assert.deepEqual(await got, [{ topic: 'polite', payload: 'hello' }])
      await Promise.all([sub.endAsync(), polite.endAsync()])
    })

    it('refuses connections from one address beyond connectionsPerSecondPerAddress', async () => {
      const started = await startOn({ limits: { connectionsPerSecondPerAddress: 3 } })
      broker = started.broker
      const outcomes = await Promise.all(Array.from({ length: 8 }, async () => {
        const r = await raw(started.url.tcp)
        try { return await r.connect(`c-${Math.random()}`) === 0 } catch { return false }
      }))
      assert.equal(outcomes.filter(Boolean).length, 3)
      assert.equal(started.log.find('warn', 'connectionsPerSecondPerAddress').length, 1)
    })

    it('refuses subscriptions beyond maxSubscriptionsPerClient with SUBACK 0x80', async () => {
      const started = await startOn({ limits: { maxSubscriptionsPerClient: 2 } })
      broker = started.broker
      const c = await raw(started.url.tcp)
      assert.equal(await c.connect('collector'), 0)
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }, { topic: 'b', qos: 0 }] })
      assert.deepEqual((await c.next('suback') as mqttPacket.ISubackPacket).granted, [0, 0])
      // A third filter is refused; re-subscribing to one already held is not a new subscription.
      c.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'c', qos: 0 }, { topic: 'a', qos: 1 }] })
      assert.deepEqual((await c.next('suback') as mqttPacket.ISubackPacket).granted, [128, 1])
    })
  })
})
