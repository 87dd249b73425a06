import type { Redis } from 'ioredis'
import type { Logger, PersistenceProvider } from '@embedmq/core'
import { createRedisBus, type RedisBus } from './bus.js'
import { RedisConnections } from './connections.js'
import type { RedisPersistenceOptions } from './options.js'
import { createRedisStore, type RedisStore } from './store.js'

/**
 * Provides the store (aedes-persistence-redis) and the bus (mqemitter-redis)
 * on three Redis connections: store commands, bus PUBLISH, bus SUBSCRIBE (a
 * subscribed connection can run nothing else). `close()` ends all three.
 */
export class RedisPersistenceProvider implements PersistenceProvider {
  readonly name = 'redis'
  readonly connections: RedisConnections
  readonly #options: RedisPersistenceOptions
  readonly #logger: Logger
  #store: RedisStore | undefined
  #bus: RedisBus | undefined
  #conns: { store: Redis, publish: Redis, subscribe: Redis } | undefined

  constructor (options: RedisPersistenceOptions, logger: Logger, resolvePath: (path: string) => string = p => p) {
    this.#options = options
    this.#logger = logger
    this.connections = new RedisConnections(options, logger, resolvePath)
  }

  /** Opens the connections, waits until Redis answers (bounded), and returns the store. */
  async createPersistence (): Promise<RedisStore> {
    if (this.#store) return this.#store
    const { store } = this.#open()
    await this.connections.ready()
    this.#store = createRedisStore(store, this.#options.maxSessionDelivery, this.#options.offlineMessageTtlSeconds)
    this.#logger.info({ redis: this.connections.target, keyPrefix: this.#options.keyPrefix },
      `persistence and bus on Redis at ${this.connections.target} (key prefix "${this.#options.keyPrefix}")`)
    return this.#store
  }

  /** The bus: mqemitter-redis with its channels under the key prefix. */
  createEmitter (): RedisBus {
    if (this.#bus) return this.#bus
    const { publish, subscribe } = this.#open()
    const bus = createRedisBus(this.#options.keyPrefix, subscribe, publish,
      () => this.connections.close(['publish', 'subscribe']))
    // The connections' own listeners log failures; this one keeps mqemitter-redis from throwing them.
    bus.state.on('error', () => undefined)
    this.#bus = bus
    return bus
  }

  /** The three connections, opened on first use (ioredis queues commands until each is ready). */
  #open (): { store: Redis, publish: Redis, subscribe: Redis } {
    this.#conns ??= {
      store: this.connections.open('store'),
      publish: this.connections.open('publish'),
      subscribe: this.connections.open('subscribe')
    }
    return this.#conns
  }

  /** Ends every connection (after the broker closed the store and the bus). */
  async close (): Promise<void> {
    await this.connections.close()
  }
}
