import assert from 'node:assert/strict'
import { isEmbedmqError, type BrokerOptions } from '@embedmq/core'
import { sqlitePersistence } from '@embedmq/persistence-sqlite'
import { connect, eventually, makeTestPki, startTestBroker, tempDirs, type TestBroker } from '@embedmq/testing'
import mqtt from 'mqtt'
import { bridgeMqtt, type BridgeOptionsInput } from '../src/index.js'
import { freePort, startMosquitto, type Mosquitto } from './mosquitto.js'

/** The remote end of a bridge: a real Mosquitto, or a second embedmq. */
interface Remote {
  kind: string
  url: string
  stop (): Promise<void>
  start (): Promise<void>
  dispose (): Promise<void>
}

async function mosquittoRemote (users?: Record<string, string>): Promise<Remote & { mosquitto: Mosquitto }> {
  const mosquitto = await startMosquitto(users ? { users } : {})
  return { kind: 'mosquitto', url: mosquitto.url, mosquitto, stop: mosquitto.stop, start: mosquitto.start, dispose: mosquitto.dispose }
}

async function embedmqRemote (): Promise<Remote> {
  const port = await freePort()
  let remote: TestBroker | undefined
  const start = async (): Promise<void> => { remote = await startTestBroker({ allowAnonymous: true, listeners: [{ type: 'tcp', host: '127.0.0.1', port }] }) }
  await start()
  return {
    kind: 'embedmq',
    url: `mqtt://127.0.0.1:${port}`,
    start,
    stop: async () => { await remote?.stop(); remote = undefined },
    dispose: async () => { await remote?.stop(); remote = undefined }
  }
}

const FAST_RECONNECT = { initialDelayMs: 100, maxDelayMs: 500, jitter: 0.2 }

function edgeBridge (remoteUrl: string, extra: Partial<BridgeOptionsInput> = {}): BridgeOptionsInput {
  return {
    name: 'cloud',
    url: remoteUrl,
    reconnect: FAST_RECONNECT,
    topics: [
      { pattern: 'line1/#', direction: 'out', qos: 1, localPrefix: 'factory/', remotePrefix: 'sites/berlin/' },
      { pattern: 'cmd/#', direction: 'in', qos: 1, localPrefix: 'factory/', remotePrefix: 'sites/berlin/' }
    ],
    ...extra
  }
}

async function startEdge (bridge: BridgeOptionsInput, options: BrokerOptions = {}): Promise<TestBroker> {
  return startTestBroker({ allowAnonymous: true, plugins: [bridgeMqtt({ bridges: [bridge] })], ...options })
}

/** Collects messages on a client, by topic and payload. */
function recorder (client: mqtt.MqttClient): Array<{ topic: string, payload: string, retain: boolean }> {
  const got: Array<{ topic: string, payload: string, retain: boolean }> = []
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }))
  return got
}

for (const makeRemote of [() => mosquittoRemote(), embedmqRemote]) {
  describe(`bridge-mqtt against ${makeRemote === embedmqRemote ? 'a second embedmq' : 'Mosquitto'}`, function () {
    this.timeout(30_000)
    let remote: Remote | undefined
    let edge: TestBroker | undefined
    const clients: mqtt.MqttClient[] = []
    const track = (c: mqtt.MqttClient): mqtt.MqttClient => { clients.push(c); return c }
    beforeEach(async () => { remote = await makeRemote() })
    afterEach(async () => {
      for (const c of clients.splice(0)) c.end(true)
      await edge?.stop()
      edge = undefined
      await remote?.dispose()
    })

    it('forwards out and in with prefix remapping, and reports connected on the state topic', async () => {
      edge = await startEdge(edgeBridge(remote!.url))
      await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
      const state = track(await connect(edge.url('tcp')))
      const states = recorder(state)
      await state.subscribeAsync('$SYS/bridges/cloud/state')
      await eventually(() => states.some(s => JSON.parse(s.payload).state === 'connected'), 'a retained "connected" state')

      const cloudSub = track(await connect(remote!.url))
      const atCloud = recorder(cloudSub)
      await cloudSub.subscribeAsync('sites/berlin/#', { qos: 1 })
      const edgeSub = track(await connect(edge.url('tcp')))
      const atEdge = recorder(edgeSub)
      await edgeSub.subscribeAsync('factory/#', { qos: 1 })

      const machine = track(await connect(edge.url('tcp')))
      await machine.publishAsync('factory/line1/press-1/temp', '71.5', { qos: 1 })
      await machine.publishAsync('factory/line2/press-9/temp', 'not mapped', { qos: 1 })
      await eventually(() => atCloud.length >= 1, 'telemetry at the cloud')
      assert.deepEqual(atCloud.map(m => [m.topic, m.payload]), [['sites/berlin/line1/press-1/temp', '71.5']])

      const operator = track(await connect(remote!.url))
      await operator.publishAsync('sites/berlin/cmd/press-1', 'stop', { qos: 1 })
      await eventually(() => atEdge.some(m => m.topic === 'factory/cmd/press-1'), 'the command at the edge')
      assert.equal(atEdge.find(m => m.topic === 'factory/cmd/press-1')?.payload, 'stop')
      assert.deepEqual(edge.broker.bridges()[0]?.forwarded, { out: 1, in: 1 })
    })

    it('does not loop with "both" on overlapping patterns: each message crosses once', async () => {
      edge = await startEdge(edgeBridge(remote!.url, {
        topics: [
          { pattern: '#', direction: 'both', qos: 1, localPrefix: 'factory/', remotePrefix: 'sites/berlin/' },
          { pattern: 'line1/#', direction: 'both', qos: 1, localPrefix: 'factory/', remotePrefix: 'sites/berlin/' }
        ]
      }))
      await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
      const cloudSub = track(await connect(remote!.url))
      const atCloud = recorder(cloudSub)
      await cloudSub.subscribeAsync('sites/#', { qos: 1 })
      const edgeSub = track(await connect(edge.url('tcp')))
      const atEdge = recorder(edgeSub)
      await edgeSub.subscribeAsync('factory/#', { qos: 1 })
      const edgeClient = track(await connect(edge.url('tcp')))
      const cloudClient = track(await connect(remote!.url))

      for (let i = 0; i < 10; i++) await edgeClient.publishAsync('factory/line1/m', `edge-${i}`, { qos: 1 })
      for (let i = 0; i < 10; i++) await cloudClient.publishAsync('sites/berlin/line1/m', `cloud-${i}`, { qos: 1 })
      // End markers from both sides: once each side has both, every loop would have shown up before them.
      await edgeClient.publishAsync('factory/line1/m', 'edge-end', { qos: 1 })
      await cloudClient.publishAsync('sites/berlin/line1/m', 'cloud-end', { qos: 1 })
      await eventually(() => ['edge-end', 'cloud-end'].every(p => atCloud.some(m => m.payload === p) && atEdge.some(m => m.payload === p)), 'both end markers on both sides')
        .catch((err: Error) => { throw new Error(`${err.message}; cloud saw ${atCloud.map(m => m.payload).join(',')}; edge saw ${atEdge.map(m => m.payload).join(',')}`) })
      const count = (list: Array<{ payload: string }>): Record<string, number> => list.reduce<Record<string, number>>((acc, m) => ({ ...acc, [m.payload]: (acc[m.payload] ?? 0) + 1 }), {})
      const expected = Object.fromEntries([...Array.from({ length: 10 }, (_, i) => `edge-${i}`), ...Array.from({ length: 10 }, (_, i) => `cloud-${i}`), 'edge-end', 'cloud-end'].map(p => [p, 1]))
      assert.deepEqual(count(atCloud), expected, 'each message once at the cloud')
      assert.deepEqual(count(atEdge), expected, 'each message once at the edge')
      assert.deepEqual(edge.broker.bridges()[0]?.forwarded, { out: 11, in: 11 })
    })

    it('carries the retain flag: a retained state published at the edge is retained at the remote', async () => {
      edge = await startEdge(edgeBridge(remote!.url))
      await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
      const machine = track(await connect(edge.url('tcp')))
      const cloudSub = track(await connect(remote!.url))
      const live = recorder(cloudSub)
      await cloudSub.subscribeAsync('sites/berlin/line1/#', { qos: 1 })
      await machine.publishAsync('factory/line1/press-1/state', 'RUNNING', { qos: 1, retain: true })
      await eventually(() => live.length === 1, 'the live message')
      const newcomer = track(await connect(remote!.url))
      const retained = recorder(newcomer)
      await newcomer.subscribeAsync('sites/berlin/line1/press-1/state', { qos: 1 })
      await eventually(() => retained.length === 1, 'the retained state for a newcomer')
      assert.deepEqual(retained[0], { topic: 'sites/berlin/line1/press-1/state', payload: 'RUNNING', retain: true })
    })

    it('reports disconnected with a reason while the remote is down, and connected again after', async () => {
      edge = await startEdge(edgeBridge(remote!.url))
      await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
      const state = track(await connect(edge.url('tcp')))
      const states = recorder(state)
      await state.subscribeAsync('$SYS/bridges/cloud/state')
      const events: string[] = []
      edge.broker.on('bridgeState', s => events.push(s.state))
      await remote!.stop()
      await eventually(() => states.some(s => JSON.parse(s.payload).state === 'disconnected'), 'a "disconnected" state')
      const down = JSON.parse(states.find(s => JSON.parse(s.payload).state === 'disconnected')!.payload) as { reason: string }
      assert.ok(down.reason.length > 0, 'the state says why')
      assert.ok(edge.logs.find('warn', 'bridge "cloud": lost').length > 0, 'a warn line says the remote was lost')
      await remote!.start()
      await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge reconnects', 10_000)
      await eventually(() => JSON.parse(states.at(-1)!.payload).state === 'connected', 'a "connected" state again')
      assert.ok(events.includes('disconnected') && events.at(-1) === 'connected', `bridgeState events: ${events.join(', ')}`)
    })
  })
}

describe('bridge-mqtt store and forward (Mosquitto restarted)', function () {
  this.timeout(60_000)
  let remote: (Remote & { mosquitto: Mosquitto }) | undefined
  let edge: TestBroker | undefined
  afterEach(async () => { await edge?.stop(); edge = undefined; await remote?.dispose() })

  it('delivers every QoS 1 message published while the remote was down, in order, once it is back; QoS 0 ones are counted as dropped', async () => {
    remote = await mosquittoRemote()
    edge = await startEdge(edgeBridge(remote.url))
    await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
    // A persistent subscriber at the remote, so Mosquitto keeps its queue across its restart.
    const cloudSub = await connect(remote.url, { clientId: 'cloud-sub', clean: false })
    await cloudSub.subscribeAsync('sites/berlin/#', { qos: 1 })
    cloudSub.end(true)

    await remote.stop()
    await eventually(() => edge!.broker.bridges()[0]?.state !== 'connected', 'the bridge sees the remote go')
    const machine = await connect(edge.url('tcp'))
    for (let i = 0; i < 100; i++) await machine.publishAsync('factory/line1/counter', String(i), { qos: 1 })
    for (let i = 0; i < 5; i++) await machine.publishAsync('factory/line1/telemetry', 'lost', { qos: 0 })
    await eventually(() => edge!.broker.bridges()[0]?.dropped === 5, 'QoS 0 drops counted')
    machine.end(true)

    await remote.start()
    await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge reconnects', 15_000)
    // Listening before the CONNACK: the queued messages can come in the same read.
    const back = mqtt.connect(remote.url, { clientId: 'cloud-sub', clean: false, reconnectPeriod: 0 })
    const got: string[] = []
    back.on('message', (topic, payload) => { if (topic === 'sites/berlin/line1/counter') got.push(payload.toString()) })
    await eventually(() => got.length >= 100, 'all 100 QoS 1 messages at the remote', 15_000)
      .catch((err: Error) => { throw new Error(`${err.message}: got ${got.length} (${got.slice(0, 5).join(',')}…); bridge ${JSON.stringify(edge!.broker.bridges()[0])}; edge log: ${edge!.logs.entries.filter(e => e.level !== 'debug').map(e => e.msg).join(' | ')}\nmosquitto: ${remote!.mosquitto.log()}`) })
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)))
    back.end(true)
  })
})

describe('bridge-mqtt bad input', function () {
  this.timeout(30_000)
  let edge: TestBroker | undefined
  let remote: (Remote & { mosquitto: Mosquitto }) | undefined
  afterEach(async () => { await edge?.stop(); edge = undefined; await remote?.dispose(); remote = undefined })

  it('an unreachable host: the broker starts and serves, the bridge logs and retries with backoff', async () => {
    const port = await freePort() // nothing listens there
    edge = await startEdge(edgeBridge(`mqtt://127.0.0.1:${port}`))
    await eventually(() => edge!.logs.entries.filter(e => e.level === 'warn' && e.msg.includes('cannot connect')).length >= 2, 'two retry warn lines')
    const status = edge.broker.bridges()[0]!
    assert.notEqual(status.state, 'connected')
    assert.match(edge.logs.find('warn', 'cannot connect')[0]!.msg, /connection refused/)
    const client = await connect(edge.url('tcp'))
    await client.publishAsync('factory/line1/x', 'still serving', { qos: 1 })
    client.end(true)
  })

  it('wrong credentials: a logged, retried, disconnected state naming the cause', async () => {
    remote = await mosquittoRemote({ edge: 'right-password' })
    edge = await startEdge(edgeBridge(remote.url, { username: 'edge', password: 'wrong-password' }))
    await eventually(() => edge!.broker.bridges()[0]?.reason?.includes('bad username or password') === true ||
      edge!.broker.bridges()[0]?.reason?.includes('not authorized') === true, 'the refusal as the reason')
    assert.ok(edge.logs.find('warn', 'cannot connect').length > 0)
  })

  it('the right credentials connect', async () => {
    remote = await mosquittoRemote({ edge: 'right-password' })
    edge = await startEdge(edgeBridge(remote.url, { username: 'edge', password: 'right-password' }))
    await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
  })

  it('a bad mapping in config fails start with an error naming the field', async () => {
    await assert.rejects(startEdge(edgeBridge('mqtt://127.0.0.1:1', {
      topics: [{ pattern: 'line1/#/more', direction: 'out', qos: 1, localPrefix: 'factory/', remotePrefix: '' }]
    })), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_PLUGIN_INVALID_OPTIONS') && /bridges\.0\.topics\.0\.pattern/.test((err as Error).message))
    await assert.rejects(startEdge(edgeBridge('http://example.com')), /must be an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/)
    await assert.rejects(startEdge(edgeBridge('mqtt://127.0.0.1:1', { topics: [{ pattern: '#', localPrefix: 'a/+/' }] })), /prefix may not contain wildcards/)
  })

  it('broker.bridge() with a bad spec rejects with EMBEDMQ_BRIDGE_INVALID; a duplicate name too', async () => {
    edge = await startTestBroker({ allowAnonymous: true, plugins: [bridgeMqtt()] })
    await assert.rejects(edge.broker.bridge({ name: 'x', url: 'mqtt://127.0.0.1:1', topics: [] }), (err: unknown) => isEmbedmqError(err, 'EMBEDMQ_BRIDGE_INVALID') && /topics/.test((err as Error).message))
    await edge.broker.bridge(edgeBridge('mqtt://127.0.0.1:1', { name: 'dup' }))
    await assert.rejects(edge.broker.bridge(edgeBridge('mqtt://127.0.0.1:1', { name: 'dup' })), /already exists/)
  })
})

describe('bridge-mqtt at runtime (broker.bridge / unbridge)', function () {
  this.timeout(30_000)
  let edge: TestBroker | undefined
  let remote: Remote | undefined
  afterEach(async () => { await edge?.stop(); edge = undefined; await remote?.dispose() })

  it('adds a bridge that forwards at once, and removes it: no more forwarding, state topic cleared', async () => {
    remote = await embedmqRemote()
    edge = await startTestBroker({ allowAnonymous: true, plugins: [bridgeMqtt()] })
    const added = await edge.broker.bridge(edgeBridge(remote.url, { name: 'app' }))
    assert.equal(added.name, 'app')
    await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
    const cloudSub = await connect(remote.url)
    const atCloud = recorder(cloudSub)
    await cloudSub.subscribeAsync('sites/#', { qos: 1 })
    await edge.broker.publish('factory/line1/a', 'via app bridge', { qos: 1 })
    await eventually(() => atCloud.length === 1, 'forwarded')
    assert.equal(await edge.broker.unbridge('app'), true)
    assert.deepEqual(edge.broker.bridges(), [])
    const retained: string[] = []
    for await (const m of edge.broker.retained('$SYS/bridges/#')) retained.push(m.topic)
    assert.deepEqual(retained, [], 'no state left behind')
    await edge.broker.publish('factory/line1/a', 'after removal', { qos: 1 })
    await edge.broker.publish('factory/line1/a', 'after removal 2', { qos: 1 })
    // The remote stays reachable: a marker published there arrives, and nothing from the edge came before it.
    const marker = await connect(remote.url)
    await marker.publishAsync('sites/end', 'end', { qos: 1 })
    await eventually(() => atCloud.some(m => m.payload === 'end'), 'the marker')
    assert.deepEqual(atCloud.map(m => m.payload), ['via app bridge', 'end'])
    cloudSub.end(true)
    marker.end(true)
  })
})

describe('bridge-mqtt with a durable local store', function () {
  this.timeout(60_000)
  const dirs = tempDirs('embedmq-bridge-')
  let edge: TestBroker | undefined
  let remote: Remote | undefined
  afterEach(async () => { await edge?.stop(); edge = undefined; await remote?.dispose() })
  after(() => dirs.remove())

  it('keeps outgoing QoS 1 messages in SQLite while the remote is down, across an edge restart, and delivers them in order', async () => {
    remote = await embedmqRemote()
    const file = `${await dirs.make()}/edge.db`
    const edgeOptions = (): BrokerOptions => ({ plugins: [sqlitePersistence({ file }), bridgeMqtt({ bridges: [edgeBridge(remote!.url)] })] })
    edge = await startEdge(edgeBridge(remote.url), edgeOptions())
    await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects')
    await remote.stop()
    await eventually(() => edge!.broker.bridges()[0]?.state !== 'connected', 'the bridge sees the remote go')
    for (let i = 0; i < 50; i++) await edge.broker.publish('factory/line1/counter', String(i), { qos: 1 })
    await edge.stop()

    await remote.start()
    const cloudSub = mqtt.connect(remote.url, { reconnectPeriod: 0 })
    const got: string[] = []
    cloudSub.on('message', (_t, payload) => got.push(payload.toString()))
    await cloudSub.subscribeAsync('sites/berlin/#', { qos: 1 })
    edge = await startEdge(edgeBridge(remote.url), edgeOptions())
    await eventually(() => got.length >= 50, 'the 50 messages queued before the restart', 15_000)
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => String(i)))
    cloudSub.end(true)
  })
})

describe('bridge-mqtt over WebSocket', function () {
  this.timeout(30_000)
  it('bridges to a remote at a ws:// URL', async () => {
    const remote = await startTestBroker({ allowAnonymous: true })
    const edge = await startEdge(edgeBridge(remote.url('ws')))
    try {
      await eventually(() => edge.broker.bridges()[0]?.state === 'connected', 'the bridge connects over WebSocket')
      const cloudSub = await connect(remote.url('tcp'))
      const got = recorder(cloudSub)
      await cloudSub.subscribeAsync('sites/#', { qos: 1 })
      await edge.broker.publish('factory/line1/ws', 'over ws', { qos: 1 })
      await eventually(() => got.length === 1, 'the message at the remote')
      assert.equal(got[0]?.topic, 'sites/berlin/line1/ws')
      assert.equal(remote.broker.clients().find(c => c.bridgeMode)?.transport, 'ws')
      cloudSub.end(true)
    } finally {
      await edge.stop()
      await remote.stop()
    }
  })
})

describe('bridge-mqtt over TLS', function () {
  this.timeout(30_000)
  const pki = makeTestPki()
  let remote: TestBroker | undefined
  let edge: TestBroker | undefined
  afterEach(async () => { await edge?.stop(); edge = undefined; await remote?.stop(); remote = undefined })

  const startTlsRemote = async (): Promise<string> => {
    remote = await startTestBroker({ allowAnonymous: true, listeners: [{ type: 'tls', host: '127.0.0.1', port: 0, key: pki.serverKey.toString(), cert: pki.serverCert.toString() }] })
    return remote.broker.addresses()[0]!.url
  }

  it('bridges to an mqtts:// remote whose certificate verifies against the given CA', async () => {
    const url = await startTlsRemote()
    assert.match(url, /^mqtts:/)
    edge = await startEdge(edgeBridge(url, { tls: { ca: pki.ca.toString() } }))
    await eventually(() => edge!.broker.bridges()[0]?.state === 'connected', 'the bridge connects over TLS')
    const cloudSub = await connect(url, { ca: pki.ca })
    const got = recorder(cloudSub)
    await cloudSub.subscribeAsync('sites/#', { qos: 1 })
    await edge.broker.publish('factory/line1/tls', 'over tls', { qos: 1 })
    await eventually(() => got.length === 1, 'the message at the remote')
    assert.equal(remote!.broker.clients().find(c => c.bridgeMode)?.transport, 'tls')
    cloudSub.end(true)
  })

  it('refuses a remote whose certificate does not verify: disconnected with the TLS reason, retried, never connected', async () => {
    const url = await startTlsRemote()
    const stranger = makeTestPki()
    edge = await startEdge(edgeBridge(url, { tls: { ca: stranger.ca.toString() } }))
    await eventually(() => edge!.logs.find('warn', 'cannot connect').length >= 2, 'retries logged')
    const status = edge.broker.bridges()[0]!
    assert.notEqual(status.state, 'connected')
    assert.match(status.reason ?? '', /certificate/i)
  })
})
