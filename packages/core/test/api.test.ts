import assert from 'node:assert/strict'
import type { Broker } from '../src/index.js'
import { connect, eventually, startBroker } from './helpers.js'

describe('broker.disconnect', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('with a connectionId closes only that connection, never a newer one that took the client id over', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const first = await connect(started.url, { clientId: 'press-1' })
    const firstConnection = broker.clients()[0]!.connectionId
    const second = await connect(started.url, { clientId: 'press-1' })
    await eventually(() => broker!.clients().length === 1 && broker!.clients()[0]!.connectionId !== firstConnection, 'the takeover')
    assert.equal(await broker.disconnect('press-1', { connectionId: firstConnection }), false)
    assert.equal(second.connected, true)
    assert.equal(await broker.disconnect('press-1', { connectionId: broker.clients()[0]!.connectionId }), true)
    await eventually(() => broker!.clients().length === 0, 'press-1 gone')
    first.end(true)
    second.end(true)
  })
})

describe('listener names', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('an unnamed listener on port 0 is named after the port it got, in addresses() and in clients', async () => {
    const started = await startBroker({ allowAnonymous: true })
    broker = started.broker
    const port = new URL(started.url).port
    assert.equal(broker.addresses()[0]!.name, `tcp:${port}`)
    const client = await connect(started.url, { clientId: 'named' })
    assert.equal(broker.clients()[0]!.listener, `tcp:${port}`)
    client.end(true)
  })
})
