/**
 * @embedmq/persistence-redis: embedmq's store and cluster bus on Redis.
 * - `redisPersistence(options)` (also the default export, for config files): the plugin;
 * - `redisPersistenceOptionsSchema`: its options;
 * - `RedisPersistenceProvider`: the PersistenceProvider, usable without the plugin host.
 */
import { redisPersistence } from './plugin.js'

export { redisPersistence, PLUGIN_NAME, type RedisPersistencePlugin } from './plugin.js'
export { redisPersistenceOptionsSchema, type RedisPersistenceOptions, type RedisPersistenceOptionsInput } from './options.js'
export { RedisPersistenceProvider } from './provider.js'
export { RedisConnections, describeTarget, ioredisOptions, type ConnectionRole } from './connections.js'
export { createRedisBus, type RedisBus } from './bus.js'
export { createRedisStore, type RedisStore } from './store.js'

export default redisPersistence
