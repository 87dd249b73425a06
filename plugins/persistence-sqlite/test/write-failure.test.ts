import { strict as assert } from 'node:assert'
import { join } from 'node:path'
import type { Plugin } from '@embedmq/core'
import { connect, eventually, startTestBroker, type TestBroker } from '@embedmq/testing'
import type mqtt from 'mqtt'
import { SqlitePersistence } from '../src/index.js'
import { tempDirs } from './support.js'

/** A SqlitePersistence whose enqueues fail once `failing` is set, as on a full disk. */
class FailingStore extends SqlitePersistence {
  failing = false
  override async outgoingEnqueueCombi (...args: Parameters<SqlitePersistence['outgoingEnqueueCombi']>): Promise<void> {
    if (this.failing) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
    await super.outgoingEnqueueCombi(...args)
  }
}

describe('persistence-sqlite when a write fails', function () {
  const temp = tempDirs()
  let tb: TestBroker | undefined
  const clients: mqtt.MqttClient[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.endAsync(true)))
    await tb?.stop()
  })
  after(() => temp.remove())

  it('the publish is not acknowledged: the publisher is disconnected, with a log line naming the cause', async () => {
    const store = new FailingStore({ file: join(await temp.make(), 'f.db') })
    const plugin: Plugin = { name: 'failing-store', register (ctx) { ctx.providePersistence({ name: 'failing', createPersistence: () => store }) } }
    tb = await startTestBroker({ allowAnonymous: true, plugins: [plugin] })
    const sub = await connect(tb.url('tcp'), { clientId: 'wf-sub', clean: false })
    await sub.subscribeAsync('wf', { qos: 1 })
    await sub.endAsync()
    const pub = await connect(tb.url('tcp'), { clientId: 'wf-pub' })
    clients.push(pub)
    await pub.publishAsync('wf', 'stored', { qos: 1 })

    store.failing = true
    let acked = false
    pub.publishAsync('wf', 'lost', { qos: 1 }).then(() => { acked = true }, () => undefined)
    await eventually(() => !pub.connected, 'the publisher to be disconnected')
    assert.equal(acked, false, 'no PUBACK for a message that was not stored')
    const broker = tb
    await eventually(() => broker.logs.entries.some(e => e.level !== 'debug' && e.msg.includes('database or disk is full')), 'a log line with the cause')
  })
})
