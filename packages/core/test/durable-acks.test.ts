import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import type { Broker, Plugin } from '../src/index.js'
import { connect, eventually, startBroker } from './helpers.js'
import { RawClient } from './raw.js'

/** aedes' own in-memory store (a CommonJS factory). */
const memoryPersistence = createRequire(import.meta.url)('aedes-persistence') as () => object

/** The in-memory store, with offline enqueues that take a while and say when they are done. */
function slowStore (log: string[]): Plugin {
  return {
    name: 'slow-store',
    register: ctx => ctx.providePersistence({
      name: 'slow-memory',
      createPersistence: () => {
        const store = memoryPersistence() as unknown as { outgoingEnqueueCombi: (...args: unknown[]) => Promise<void> }
        const enqueue = store.outgoingEnqueueCombi.bind(store)
        store.outgoingEnqueueCombi = async (...args: unknown[]) => {
          await new Promise(resolve => setTimeout(resolve, 200))
          await enqueue(...args)
          log.push('stored')
        }
        return store
      }
    })
  }
}

describe('durable acknowledgements', () => {
  let broker: Broker | undefined
  afterEach(async () => { await broker?.stop(); broker = undefined })

  it('sends a QoS 1 PUBACK only after the message is stored for an offline persistent session', async () => {
    const log: string[] = []
    const started = await startBroker({ allowAnonymous: true, plugins: [slowStore(log)] })
    broker = started.broker
    const sleeper = await connect(started.url, { clientId: 'sleeper', clean: false })
    await sleeper.subscribeAsync('orders/#', { qos: 1 })
    await sleeper.endAsync()
    await eventually(() => broker!.clients().length === 0, 'the sleeper to be offline')

    const publisher = await RawClient.open(started.url)
    assert.equal(await publisher.connect('publisher'), 0)
    publisher.send({ cmd: 'publish', topic: 'orders/1', payload: Buffer.from('42'), qos: 1, messageId: 7, retain: false, dup: false })
    await publisher.next('puback')
    log.push('puback')
    assert.deepEqual(log, ['stored', 'puback'])
    publisher.end()

    const back = await connect(started.url, { clientId: 'sleeper', clean: false })
    const got = await new Promise<string>(resolve => back.once('message', (_t, p) => resolve(p.toString())))
    assert.equal(got, '42')
    await back.endAsync()
  })
})
