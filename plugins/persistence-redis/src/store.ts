import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'

/** Options aedes-persistence-redis 12 takes when given its connection (`conn`). */
interface StoreFactoryOptions {
  conn: Redis
  maxSessionDelivery: number
  packetTTL: () => number
}

/** The aedes-persistence 11 store aedes-persistence-redis returns (a CallBackPersistence). */
export interface RedisStore {
  setup (broker: object): Promise<void>
  destroy (): Promise<void>
}

const require = createRequire(import.meta.url)
const aedesPersistenceRedis = require('aedes-persistence-redis') as (options: StoreFactoryOptions) => RedisStore

/**
 * The store: aedes-persistence-redis 12 on the plugin's own `store` connection,
 * whose ioredis `keyPrefix` puts every key under the plugin's prefix.
 *
 * Queued messages are keyed by (broker id, broker counter), and aedes starts its
 * counter at 0 in every run: a broker restarted under the same configured id
 * wrote over the messages its previous run had queued (test/fixed-id.test.ts
 * lost 16 of 20). `setup` starts the counter at the current time in
 * microseconds instead, so a later run counts above an earlier one unless the
 * earlier run published more than a million messages a second on average.
 */
export function createRedisStore (conn: Redis, maxSessionDelivery: number, offlineMessageTtlSeconds: number): RedisStore {
  const store = aedesPersistenceRedis({ conn, maxSessionDelivery, packetTTL: () => offlineMessageTtlSeconds })
  const setup = store.setup.bind(store)
  // aedes checks that setup is an AsyncFunction, so this must stay `async`.
  store.setup = async (broker: object) => {
    const counted = broker as { counter?: unknown }
    if (typeof counted.counter === 'number') counted.counter = Math.max(counted.counter, Date.now() * 1000)
    await setup(broker)
  }
  return store
}
