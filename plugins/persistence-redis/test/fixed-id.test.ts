import assert from 'node:assert/strict'
import { connect, eventually, startTestBroker } from '@embedmq/testing'
import { redisPersistence } from '../src/index.js'
import { Cleanup, SHARED_REDIS, connectRecording, deleteKeys, uniquePrefix } from './support.js'

// aedes keys each queued message by (broker id, a counter that starts again at 0 in every run).
// A broker restarted with the *same* configured `id` wrote over messages still queued by its
// previous run (16 of 20 lost before the store started the counter at the clock, see src/store.ts).
describe('persistence-redis with a fixed broker id', function () {
  this.timeout(30_000)
  const cleanup = new Cleanup()
  const keyPrefix = uniquePrefix('fixed-id')
  after(async () => { await cleanup.run(); await deleteKeys(keyPrefix) })

  it('a restart under the same id delivers what both runs queued, in order, once each', async () => {
    const start = () => startTestBroker({ id: 'plant-a-2', allowAnonymous: true, plugins: [redisPersistence({ ...SHARED_REDIS, keyPrefix })] })
    const first = await start()
    const sub = await connect(first.url('tcp'), { clientId: 'victim', clean: false })
    await sub.subscribeAsync('q/#', { qos: 1 })
    await sub.endAsync()
    const pub = await connect(first.url('tcp'), { clientId: 'p1' })
    for (let i = 0; i < 20; i++) await pub.publishAsync('q/1', `old${i}`, { qos: 1 })
    await pub.endAsync()
    await first.stop()

    const second = cleanup.add(await start())
    const pub2 = cleanup.add(await connect(second.url('tcp'), { clientId: 'p2' }))
    for (let i = 0; i < 20; i++) await pub2.publishAsync('q/1', `new${i}`, { qos: 1 })
    const { client, got } = await connectRecording(second.url('tcp'), { clientId: 'victim', clean: false })
    cleanup.add(client)
    await eventually(() => got.length >= 40, '40 queued messages').catch((err: Error) => {
      throw new Error(`${err.message}: got ${got.length}, ${got.filter(m => m.payload.startsWith('old')).length} from the first run`)
    })
    await pub2.publishAsync('q/1', 'END', { qos: 1 })
    await eventually(() => got.some(m => m.payload === 'END'), 'END')
    const expected = [...Array.from({ length: 20 }, (_, i) => `old${i}`), ...Array.from({ length: 20 }, (_, i) => `new${i}`), 'END']
    assert.deepEqual(got.map(m => m.payload), expected)
  })
})
