import assert from 'node:assert/strict'
import mqtt from 'mqtt'
import { deny, isEmbedmqError, type Broker, type BridgeProvider, type BridgeStatus } from '../src/index.js'
import { collect, connect, eventually, startBroker } from './helpers.js'

/** What core gives bridges: in-process connections, bridge mode (no echo), capped memory queues, the bridge slot. */

function inProcessClient (broker: Broker, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = new mqtt.MqttClient(() => broker.connectInProcess(), { reconnectPeriod: 0, ...options })
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('error', reject)
  })
}

describe('broker.connectInProcess', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('is trusted: lets the client in and through although every authenticator and authorizer refuses', async () => {
    const started = await startBroker({
      plugins: [{
        name: 'refuse-all',
        register (ctx) {
          ctx.addAuthenticator({ authenticate: () => deny('nobody') })
          ctx.addAuthorizer({ authorizePublish: () => deny('no'), authorizeSubscribe: () => deny('no'), authorizeRead: () => deny('no') })
        }
      }]
    })
    broker = started.broker
    const inside = await inProcessClient(broker, { clientId: 'inside' })
    await inside.subscribeAsync('plant/#', { qos: 1 })
    const got = collect(inside, 1)
    await broker.publish('plant/line1', 'hello', { qos: 1 })
    assert.deepEqual((await got).map(m => m.payload.toString()), ['hello'])
    const info = broker.clients().find(c => c.id === 'inside')
    assert.equal(info?.transport, 'internal')
    assert.equal(info?.authenticatedBy, 'internal')
    // And a network client is still refused by the same chain.
    await assert.rejects(connect(started.url, { clientId: 'outside', reconnectPeriod: 0 }))
    inside.end(true)
  })

  it('delivers its publishes to network clients, and closes with the broker', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const outside = await connect(started.url, { clientId: 'outside' })
    await outside.subscribeAsync('from/inside', { qos: 1 })
    const inside = await inProcessClient(broker, { clientId: 'inside' })
    const got = collect(outside, 3)
    for (const n of [1, 2, 3]) await inside.publishAsync('from/inside', String(n), { qos: 1 })
    assert.deepEqual((await got).map(m => m.payload.toString()), ['1', '2', '3'])
    const closed = new Promise<void>(resolve => inside.once('close', () => resolve()))
    await broker.stop()
    broker = undefined
    await closed
    outside.end(true)
  })
})

/** An mqtt.js client whose CONNECT carries the bridge bit (mqtt.js has no option for it; mqtt-packet does). */
function connectAsBridge (url: string, clientId: string): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 0, manualConnect: true })
  const internals = client as unknown as { _writePacket: (packet: { cmd: string }, cb?: () => void) => void }
  const write = internals._writePacket.bind(client)
  internals._writePacket = (packet, cb) => write(packet.cmd === 'connect' ? { ...packet, bridgeMode: true } as typeof packet : packet, cb)
  client.connect()
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('error', reject)
  })
}

describe('bridge mode (protocol level with the 0x80 bit)', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('does not send a bridge its own messages back, while others get them and a normal client gets its own', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    // Protocol level 0x84: what Mosquitto bridges send with try_private.
    const bridge = await connectAsBridge(started.url, 'bridge')
    const plain = await connect(started.url, { clientId: 'plain' })
    assert.equal(broker.clients().find(c => c.id === 'bridge')?.bridgeMode, true)
    assert.equal(broker.clients().find(c => c.id === 'plain')?.bridgeMode, false)
    await bridge.subscribeAsync('loop/#', { qos: 1 })
    await plain.subscribeAsync('loop/#', { qos: 1 })
    const bridgeGot: string[] = []
    bridge.on('message', (_t, p) => bridgeGot.push(p.toString()))
    const plainGot: string[] = []
    plain.on('message', (_t, p) => plainGot.push(p.toString()))
    await bridge.publishAsync('loop/a', 'from-bridge', { qos: 1 })
    await plain.publishAsync('loop/a', 'from-plain', { qos: 1 })
    await eventually(() => plainGot.length === 2 && bridgeGot.length === 1, 'deliveries')
    // A marker after both, so "nothing more arrives" is observed, not assumed.
    await broker.publish('loop/end', 'end', { qos: 1 })
    await eventually(() => bridgeGot.includes('end') && plainGot.includes('end'), 'the end marker')
    assert.deepEqual(bridgeGot, ['from-plain', 'end'])
    assert.deepEqual(plainGot.sort(), ['end', 'from-bridge', 'from-plain'])
    bridge.end(true)
    plain.end(true)
  })

  it('gives a bridge the retain flag as published on live messages (others get it only for stored ones)', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const bridge = await connectAsBridge(started.url, 'bridge')
    const plain = await connect(started.url, { clientId: 'plain' })
    await bridge.subscribeAsync('state/#', { qos: 1 })
    await plain.subscribeAsync('state/#', { qos: 1 })
    const seen = (client: mqtt.MqttClient): Promise<boolean> => new Promise(resolve => client.once('message', (_t, _p, packet) => resolve(packet.retain)))
    const bridgeSaw = seen(bridge)
    const plainSaw = seen(plain)
    await broker.publish('state/press-1', 'RUNNING', { qos: 1, retain: true })
    assert.equal(await bridgeSaw, true)
    assert.equal(await plainSaw, false)
    bridge.end(true)
    plain.end(true)
  })
})

describe('limits.maxQueuedPerSession (memory store)', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('keeps at most the cap for an offline persistent session, drops newer ones with a warn line, and counts down as messages are acknowledged', async () => {
    const started = await startBroker({ allowAnonymous: true, limits: { maxQueuedPerSession: 5 } })
    broker = started.broker
    const sub = await connect(started.url, { clientId: 'offline-sub', clean: false })
    await sub.subscribeAsync('q/#', { qos: 1 })
    await sub.endAsync()
    for (let i = 1; i <= 8; i++) await broker.publish('q/x', String(i), { qos: 1 })
    assert.equal(started.log.find('warn', 'limits.maxQueuedPerSession').length, 1, 'one warn line names the limit')
    const back = await connect(started.url, { clientId: 'offline-sub', clean: false })
    const got: string[] = []
    back.on('message', (_t, p) => got.push(p.toString()))
    await eventually(() => got.length === 5, 'the queued five')
    // All five acknowledged: the session has room again.
    await broker.publish('q/x', 'after', { qos: 1 })
    await eventually(() => got.includes('after'), 'a message after the queue drained')
    assert.deepEqual(got, ['1', '2', '3', '4', '5', 'after'])
    back.end(true)
  })
})

describe('bridge slot', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('broker.bridge() without a bridge plugin rejects with EMBEDMQ_NO_BRIDGE_PLUGIN naming the plugin to add', async () => {
    broker = (await startBroker({ allowAnonymous: true })).broker
    await assert.rejects(broker.bridge({ name: 'x' }), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_NO_BRIDGE_PLUGIN') && /bridge-mqtt/.test((err as Error).message))
    assert.deepEqual(broker.bridges(), [])
    assert.equal(await broker.unbridge('x'), false)
  })

  it('delegates to the provider and re-emits its state changes as bridgeState events', async () => {
    const statuses: BridgeStatus[] = []
    let notify: (s: BridgeStatus) => void = () => undefined
    const provider: BridgeProvider = {
      add: async (spec) => {
        const status: BridgeStatus = { name: (spec as { name: string }).name, remote: 'mqtt://remote', state: 'connected', since: new Date(), forwarded: { out: 0, in: 0 }, dropped: 0 }
        statuses.push(status)
        notify(status)
        return status
      },
      remove: async (name) => statuses.splice(statuses.findIndex(s => s.name === name), 1).length === 1,
      list: () => statuses,
      onStateChange: (listener) => { notify = listener }
    }
    broker = (await startBroker({ allowAnonymous: true, plugins: [{ name: 'fake-bridges', register: (ctx) => ctx.provideBridges(provider) }] })).broker
    const events: BridgeStatus[] = []
    broker.on('bridgeState', s => events.push(s))
    const added = await broker.bridge({ name: 'cloud' })
    assert.equal(added.name, 'cloud')
    assert.deepEqual(broker.bridges().map(b => b.name), ['cloud'])
    assert.deepEqual(events.map(e => `${e.name}:${e.state}`), ['cloud:connected'])
    assert.equal(await broker.unbridge('cloud'), true)
    assert.deepEqual(broker.bridges(), [])
  })

  it('a second plugin providing bridges fails start with a coded error', async () => {
    const provider = (): BridgeProvider => ({ add: async () => { throw new Error('x') }, remove: async () => false, list: () => [], onStateChange: () => undefined })
    await assert.rejects(startBroker({
      allowAnonymous: true,
      plugins: [{ name: 'a', register: (ctx) => ctx.provideBridges(provider()) }, { name: 'b', register: (ctx) => ctx.provideBridges(provider()) }]
    }), /both provide bridges/)
  })
})

