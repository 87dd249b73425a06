/**
 * aedes-persistence 11's contract suite (abstract.js, node:test) against the
 * plugin's own wiring: the store and the bus of a RedisPersistenceProvider,
 * as the broker gets them. Run by contract.test.ts as `node --test`, with
 * REDIS_PORT and KEY_PREFIX in the environment.
 */
import { createRequire } from 'node:module'
import test from 'node:test'
import { silentLogger } from '@embedmq/core'
import { redisPersistenceOptionsSchema } from '../../src/options.js'
import { RedisPersistenceProvider } from '../../src/provider.js'
import { deleteKeys } from '../support.js'

interface AbstractOptions {
  test: typeof test
  buildEmitter: () => object
  persistence: () => Promise<object>
  waitForReady: boolean
}

const require = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'))
const abstractPersistence = require('aedes-persistence/abstract.js') as (opts: AbstractOptions) => void

const port = Number(process.env.REDIS_PORT ?? 6379)
const keyPrefix = process.env.KEY_PREFIX ?? 'embedmq-contract:'
const options = redisPersistenceOptionsSchema.parse({ host: '127.0.0.1', port, keyPrefix })

// abstract.js builds the emitter first, then the store: both come from one provider per test.
let current: RedisPersistenceProvider | undefined

type CallbackStore = { destroy: (cb?: () => void) => unknown }

abstractPersistence({
  test,
  waitForReady: true,
  buildEmitter () {
    current = new RedisPersistenceProvider(options, silentLogger)
    return current.createEmitter()
  },
  async persistence () {
    const provider = current
    if (!provider) throw new Error('buildEmitter did not run')
    await deleteKeys(keyPrefix, port)
    const store = await provider.createPersistence() as unknown as CallbackStore
    const destroy = store.destroy.bind(store)
    // As the broker does on stop: the store, then the bus, then every connection.
    store.destroy = (cb) => {
      destroy(() => {
        provider.createEmitter().close(() => { provider.close().finally(() => cb?.()) })
      })
    }
    return store
  }
})

test.after(() => deleteKeys(keyPrefix, port))
