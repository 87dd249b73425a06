import assert from 'node:assert/strict'
import net from 'node:net'
import type { Broker } from '../src/index.js'
import { connect, eventually, startBroker } from './helpers.js'

/** Why a client went away, as the clientDisconnected event and connection listeners are told. */
describe('disconnect reasons', () => {
  let broker: Broker | undefined
  let url = ''
  const reasons: Array<[string, string]> = []
  const heard: Array<[string, string]> = []
  beforeEach(async () => {
    reasons.length = 0
    heard.length = 0
    const started = await startBroker({
      allowAnonymous: true,
      plugins: [{ name: 'listener', register: (ctx) => ctx.addConnectionListener({ onDisconnect: (c, reason) => { heard.push([c.clientId, reason]) } }) }]
    })
    broker = started.broker
    url = started.url
    broker.on('clientDisconnected', (client, reason) => reasons.push([client.clientId, reason]))
  })
  afterEach(async () => { await broker?.stop(); broker = undefined })

  const reasonOf = (clientId: string): string | undefined => reasons.find(([id]) => id === clientId)?.[1]

  it('names a DISCONNECT, a dropped socket, a takeover and the host app, to events and connection listeners alike', async () => {
    const polite = await connect(url, { clientId: 'polite' })
    await polite.endAsync()
    await eventually(() => reasonOf('polite') !== undefined, 'polite leaves')
    assert.equal(reasonOf('polite'), 'client sent DISCONNECT')

    const dropped = await connect(url, { clientId: 'dropped', reconnectPeriod: 0 })
    dropped.stream.destroy()
    await eventually(() => reasonOf('dropped') !== undefined, 'dropped goes')
    assert.equal(reasonOf('dropped'), 'connection closed')

    const first = await connect(url, { clientId: 'press-1', reconnectPeriod: 0 })
    const second = await connect(url, { clientId: 'press-1', reconnectPeriod: 0 })
    await eventually(() => reasonOf('press-1') !== undefined, 'the takeover')
    assert.equal(reasonOf('press-1'), 'taken over by a new connection with the same client id')

    reasons.length = 0
    assert.equal(await broker!.disconnect('press-1'), true)
    await eventually(() => reasonOf('press-1') !== undefined, 'the host app closes it')
    assert.equal(reasonOf('press-1'), 'disconnected by the host app (broker.disconnect)')
    first.end(true)
    second.end(true)
    await eventually(() => heard.length >= 4, 'connection listeners told too')
    assert.deepEqual(heard.find(([id]) => id === 'polite'), ['polite', 'client sent DISCONNECT'])
  })

  it('names a keepalive timeout and a broker that stops', async () => {
    // A raw socket that sends CONNECT with a 1 s keepalive, then nothing.
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1')
    socket.on('error', () => undefined)
    socket.write(Buffer.from([0x10, 0x13, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x01, 0x00, 0x07, ...Buffer.from('silent1')]))
    await eventually(() => reasonOf('silent1') !== undefined, 'the keepalive timeout', 5000)
    assert.match(reasonOf('silent1')!, /^keepalive timeout/)
    socket.destroy()

    const stays = await connect(url, { clientId: 'stays', reconnectPeriod: 0 })
    await broker!.stop()
    broker = undefined
    assert.equal(reasonOf('stays'), 'broker stopping')
    stays.end(true)
  })
})
